module github.com/lb-proxy/lb

go 1.26.8
