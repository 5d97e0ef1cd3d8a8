package node

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roam-edge/roam/client"
)

// testPKI writes a CA and a certificate for 127.0.0.1 signed by it.
func testPKI(t *testing.T) (caFile, certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "roam test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "node"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	pool = x509.NewCertPool()
	pool.AddCert(caCert)
	return write("ca.pem", "CERTIFICATE", caDER), write("node.pem", "CERTIFICATE", leafDER),
		write("node.key", "EC PRIVATE KEY", keyDER), pool
}

func startTLSNode(t *testing.T, name, ca, cert, key string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(Config{Dir: t.TempDir(), Name: name, Token: testToken, PeerToken: testPeerToken, Listen: ln.Addr().String(),
		PeersFile: joinTestPool(t, "https://"+ln.Addr().String()),
		TLSCert:   cert, TLSKey: key, TLSCA: ca, Log: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return n.URL()
}

// TestTLSMigration: nodes serving HTTPS with certificates of the pool's CA
// move an instance between them, and a client that trusts only that CA
// drives it.
func TestTLSMigration(t *testing.T) {
	ca, cert, key, pool := testPKI(t)
	a, b := startTLSNode(t, "a", ca, cert, key), startTLSNode(t, "b", ca, cert, key)
	if !strings.HasPrefix(a, "https://") {
		t.Fatalf("a TLS node advertises %s", a)
	}
	ctx := context.Background()
	c, err := client.New(a, testToken, client.WithRootCAs(pool))
	if err != nil {
		t.Fatal(err)
	}
	digest, err := c.UploadModule(ctx, fixture(t, "c-sleep"))
	if err != nil {
		t.Fatal(err)
	}
	in, err := c.Start(ctx, client.StartRequest{Module: digest, Args: []string{"c-sleep", "100"}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := c.Migrate(ctx, in.ID, b, nil); err != nil {
		t.Fatalf("migrate over TLS: %v", err)
	}
	end, err := c.Wait(ctx, in.ID)
	if err != nil || end.ExitCode != 0 || end.Node != "b" {
		t.Fatalf("wait: %+v %v", end, err)
	}
	var out bytes.Buffer
	if err := c.Logs(ctx, in.ID, client.Stdout, false, &out); err != nil || !strings.Contains(out.String(), "done") {
		t.Errorf("logs: %v %q", err, out.String())
	}
	plain, _ := client.New(a, testToken)
	if _, err := plain.Instances(ctx); err == nil {
		t.Error("a client without the pool's CA trusted the node")
	}
}
