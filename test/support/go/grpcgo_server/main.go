// A grpc-go server for the keepalive and connection-age integration tests
// (test/integration/keepalive_findings_test.cc), built against Debian's
// golang-google-grpc-dev (GOPATH=/usr/share/gocode, GO111MODULE=off).
//
// It serves every method (grpc.UnknownServiceHandler) with a pass-through
// bytes codec, so no generated protobuf code is needed: each request message
// is sent back unchanged, as many times as it arrives, until the client ends
// its side. An echo.proto EchoRequest with only its payload comes back as an
// EchoResponse with the same payload (both use field 1).
//
// Its keepalive enforcement and connection age are grpc-go's own
// (keepalive.EnforcementPolicy, keepalive.ServerParameters): the point of the
// program. It prints "listening on HOST:PORT" once on stdout when it serves.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
)

// rawCodec hands message bytes through: the handler never decodes them.
type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	p := v.(*[]byte)
	*p = append((*p)[:0], data...)
	return nil
}
func (rawCodec) String() string { return "raw" }

func echo(_ interface{}, stream grpc.ServerStream) error {
	for {
		var msg []byte
		if err := stream.RecvMsg(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if err := stream.SendMsg(&msg); err != nil {
			return err
		}
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	minTime := flag.Duration("min-time", 5*time.Minute, "keepalive.EnforcementPolicy.MinTime")
	permit := flag.Bool("permit-without-stream", false, "keepalive.EnforcementPolicy.PermitWithoutStream")
	maxAge := flag.Duration("max-connection-age", 0, "keepalive.ServerParameters.MaxConnectionAge (0: infinite)")
	maxAgeGrace := flag.Duration("max-connection-age-grace", 0,
		"keepalive.ServerParameters.MaxConnectionAgeGrace (0: infinite)")
	certFile := flag.String("tls-cert", "", "serve TLS with this certificate (PEM)")
	keyFile := flag.String("tls-key", "", "and this key (PEM)")
	flag.Parse()

	opts := []grpc.ServerOption{
		grpc.CustomCodec(rawCodec{}),
		grpc.UnknownServiceHandler(echo),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: *minTime, PermitWithoutStream: *permit}),
	}
	var params keepalive.ServerParameters
	if *maxAge > 0 {
		params.MaxConnectionAge = *maxAge
	}
	if *maxAgeGrace > 0 {
		params.MaxConnectionAgeGrace = *maxAgeGrace
	}
	opts = append(opts, grpc.KeepaliveParams(params))
	if *certFile != "" {
		creds, err := credentials.NewServerTLSFromFile(*certFile, *keyFile)
		if err != nil {
			log.Fatalf("tls: %v", err)
		}
		opts = append(opts, grpc.Creds(creds))
	}
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	fmt.Fprintf(os.Stdout, "listening on %s\n", lis.Addr().String())
	os.Stdout.Sync()
	if err := grpc.NewServer(opts...).Serve(lis); err != nil {
		log.Fatalf("serve: %v", err)
	}
}
