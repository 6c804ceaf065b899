package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// closedAddr returns the address of a port that was just listened on and
// closed, so that nothing answers there.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

func TestDialFailure(t *testing.T) {
	addr := closedAddr(t)
	for _, args := range [][]string{
		{"event", "send", "--customer", "acme", "--type", "contract.signed", "--playbooks", shipped},
		{"events", "rejected"},
		{"import", "testdata/import/customers.csv", "--playbooks", shipped},
		{"runs", "list"},
		{"runs", "show", "run/onboarding/acme/1"},
		{"runs", "retry", "run/onboarding/acme/1"},
		{"tasks", "list", "--overdue"},
		{"tasks", "complete", "onboarding/acme/1/kickoff/1", "--outcome", "held"},
	} {
		name := strings.Join(args[:2], " ")
		if args[0] == "import" {
			name = "import"
		}
		t.Run(name, func(t *testing.T) {
			r := mustRun(t, exitUnreachable, append(args, "--address", addr)...)
			want := "tend " + name + ": cannot reach Temporal at " + addr + ": "
			if !strings.HasPrefix(r.stderr, want) || !strings.HasSuffix(r.stderr, "; start one with `tend dev`, or give the address it prints with --address or TEMPORAL_ADDRESS\n") {
				t.Errorf("stderr = %q, want %q ... start one with `tend dev`, or give the address it prints with --address or TEMPORAL_ADDRESS", r.stderr, want)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
		})
	}
}

func TestAddressFromEnvironment(t *testing.T) {
	addr := closedAddr(t)
	t.Setenv("TEMPORAL_ADDRESS", addr)
	r := mustRun(t, exitUnreachable, "runs", "list")
	contains(t, "stderr", r.stderr, "cannot reach Temporal at "+addr+":")
}

func TestConnFlagErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"cert without key", []string{"--tls-cert", notPEM}, "tend runs list: --tls-cert needs --tls-key\n"},
		{"key without cert", []string{"--tls-key", notPEM}, "tend runs list: --tls-key needs --tls-cert\n"},
		{"missing cert file", []string{"--tls-cert", missing, "--tls-key", notPEM}, "tend runs list: cannot read " + missing + ": no such file or directory\n"},
		{"missing key file", []string{"--tls-cert", notPEM, "--tls-key", missing}, "tend runs list: cannot read " + missing + ": no such file or directory\n"},
		{"bad key pair", []string{"--tls-cert", notPEM, "--tls-key", notPEM}, "tend runs list: --tls-cert " + notPEM + ", --tls-key " + notPEM + ": "},
		{"missing CA", []string{"--tls-ca", missing}, "tend runs list: cannot read " + missing + ": no such file or directory\n"},
		{"CA without certificates", []string{"--tls-ca", notPEM}, "tend runs list: --tls-ca " + notPEM + ": no PEM certificate in the file\n"},
		{"zero timeout", []string{"--timeout", "0s"}, "tend runs list: --timeout 0s: want a positive duration such as 30s\n"},
		{"bad timeout", []string{"--timeout", "soon"}, `tend runs: --timeout: expected duration but got "soon"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRun(t, exitUsage, append([]string{"runs", "list", "--address", closedAddr(t)}, tt.args...)...)
			if !strings.HasPrefix(r.stderr, tt.want) {
				t.Errorf("stderr = %q, want prefix %q", r.stderr, tt.want)
			}
		})
	}
}

// writeCert writes a self-signed certificate and its key as PEM files.
func writeCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tend test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestConnOptions(t *testing.T) {
	cert, key := writeCert(t, t.TempDir())
	log := zerolog.Nop()

	opts, err := connFlags{Address: "temporal:7233", Namespace: "cs"}.options(log, nil)
	if err != nil || opts.HostPort != "temporal:7233" || opts.Namespace != "cs" || opts.ConnectionOptions.TLS != nil || opts.Credentials != nil || opts.Logger == nil {
		t.Errorf("plain: %+v, %v", opts, err)
	}

	opts, err = connFlags{TLS: true}.options(log, nil)
	if err != nil || opts.ConnectionOptions.TLS == nil || opts.ConnectionOptions.TLS.RootCAs != nil {
		t.Errorf("--tls: %+v, %v", opts.ConnectionOptions.TLS, err)
	}

	opts, err = connFlags{TLSCert: cert, TLSKey: key, TLSCA: cert, TLSServerName: "temporal.internal"}.options(log, nil)
	if err != nil {
		t.Fatal(err)
	}
	tc := opts.ConnectionOptions.TLS
	if tc == nil || len(tc.Certificates) != 1 || tc.RootCAs == nil || tc.ServerName != "temporal.internal" {
		t.Errorf("mutual TLS: %+v", tc)
	}

	// With an API key and no TLS flags, the SDK turns TLS on by itself.
	opts, err = connFlags{APIKey: "secret"}.options(log, nil)
	if err != nil || opts.Credentials == nil || opts.ConnectionOptions.TLS != nil || opts.ConnectionOptions.TLSDisabled {
		t.Errorf("api key: %+v, %v", opts, err)
	}
}
