package peer

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// fileState is what EnsurePKI must leave alone in a file it does not create.
type fileState struct {
	mode    fs.FileMode
	modTime time.Time
	data    []byte
}

func snapshot(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]fileState{}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = fileState{info.Mode(), info.ModTime(), data}
	}
	return files
}

func sortedNames(files map[string]fileState) []string {
	var names []string
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func TestEnsurePKICreates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "pki")
	if err := EnsurePKI(dir, []string{"beta", "alpha", "alpha"}); err != nil {
		t.Fatalf("EnsurePKI: %v", err)
	}

	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != 0o700 {
		t.Errorf("directory mode %v, want 0700", got)
	}
	files := snapshot(t, dir)
	want := []string{"alpha.crt", "alpha.key", "beta.crt", "beta.key", "ca.crt", "ca.key"}
	if got := sortedNames(files); !slices.Equal(got, want) {
		t.Fatalf("files %v, want %v", got, want)
	}
	for name, f := range files {
		wantMode := fs.FileMode(0o644)
		if strings.HasSuffix(name, ".key") {
			wantMode = 0o600
		}
		if f.mode != wantMode {
			t.Errorf("%s: mode %v, want %v", name, f.mode, wantMode)
		}
	}

	now := time.Now()
	ca, err := readCert(filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if !ca.IsCA {
		t.Errorf("ca.crt is not a CA")
	}
	if years := ca.NotAfter.Sub(now).Hours() / 24 / 365; years < 9.9 || years > 10.1 {
		t.Errorf("CA valid for %.1f years, want 10", years)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	for _, region := range []string{"alpha", "beta"} {
		cert, err := readCert(filepath.Join(dir, region+".crt"))
		if err != nil {
			t.Fatal(err)
		}
		if cert.Subject.CommonName != region {
			t.Errorf("%s: CN %q", region, cert.Subject.CommonName)
		}
		if !slices.Equal(cert.DNSNames, []string{region + ".peer.polyregion"}) {
			t.Errorf("%s: DNS names %v", region, cert.DNSNames)
		}
		pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
		if !ok || pub.Curve != elliptic.P256() {
			t.Errorf("%s: key %T, want ECDSA P-256", region, cert.PublicKey)
		}
		if years := cert.NotAfter.Sub(now).Hours() / 24 / 365; years < 4.9 || years > 5.1 {
			t.Errorf("%s: valid for %.1f years, want 5", region, years)
		}
		for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
			if _, err := cert.Verify(x509.VerifyOptions{
				Roots: roots, DNSName: ServerName(region), KeyUsages: []x509.ExtKeyUsage{usage},
			}); err != nil {
				t.Errorf("%s: verify for usage %v: %v", region, usage, err)
			}
		}
		if _, err := LoadIdentity(dir, region); err != nil {
			t.Errorf("LoadIdentity(%s): %v", region, err)
		}
	}
}

func TestEnsurePKIIdempotent(t *testing.T) {
	dir := newPKI(t, "alpha", "beta")
	before := snapshot(t, dir)

	if err := EnsurePKI(dir, []string{"beta", "alpha"}); err != nil {
		t.Fatalf("second EnsurePKI: %v", err)
	}
	after := snapshot(t, dir)
	if got, want := sortedNames(after), sortedNames(before); !slices.Equal(got, want) {
		t.Fatalf("second run: files %v, want %v", got, want)
	}
	for name, b := range before {
		a := after[name]
		if a.mode != b.mode || !a.modTime.Equal(b.modTime) || !bytes.Equal(a.data, b.data) {
			t.Errorf("second run changed %s", name)
		}
	}

	// A region added later gets its files; nothing else changes.
	if err := EnsurePKI(dir, []string{"alpha", "beta", "gamma"}); err != nil {
		t.Fatalf("EnsurePKI with gamma: %v", err)
	}
	after = snapshot(t, dir)
	if got := sortedNames(after); !slices.Equal(got, append(sortedNames(before), "gamma.crt", "gamma.key")) {
		t.Fatalf("with gamma: files %v", got)
	}
	for name, b := range before {
		if a := after[name]; !a.modTime.Equal(b.modTime) || !bytes.Equal(a.data, b.data) {
			t.Errorf("adding gamma changed %s", name)
		}
	}
	if after["gamma.key"].mode != 0o600 {
		t.Errorf("gamma.key: mode %v, want 0600", after["gamma.key"].mode)
	}
	mustIdentity(t, dir, "gamma")
}

func TestEnsurePKIRejectsCertOfAnotherCA(t *testing.T) {
	dir := newPKI(t, "alpha")
	other := newPKI(t, "alpha")
	for _, name := range []string{"alpha.crt", "alpha.key"} {
		data, err := os.ReadFile(filepath.Join(other, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	err := EnsurePKI(dir, []string{"alpha", "beta"})
	if !errors.Is(err, ErrNotSignedByCA) {
		t.Errorf("EnsurePKI: err = %v; want ErrNotSignedByCA", err)
	}
	if err != nil && !strings.Contains(err.Error(), filepath.Join(dir, "alpha.crt")) {
		t.Errorf("EnsurePKI: error %q does not name alpha.crt", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "beta.crt")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("EnsurePKI wrote beta.crt although alpha.crt is bad")
	}

	_, err = LoadIdentity(dir, "alpha")
	if !errors.Is(err, ErrNotSignedByCA) || !strings.Contains(err.Error(), filepath.Join(dir, "alpha.crt")) {
		t.Errorf("LoadIdentity: err = %v; want ErrNotSignedByCA naming alpha.crt", err)
	}
}

func TestEnsurePKIPartialFiles(t *testing.T) {
	t.Run("key without certificate gets one", func(t *testing.T) {
		dir := newPKI(t, "alpha")
		key, err := readKey(filepath.Join(dir, "alpha.key"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(dir, "alpha.crt")); err != nil {
			t.Fatal(err)
		}
		if err := EnsurePKI(dir, []string{"alpha"}); err != nil {
			t.Fatalf("EnsurePKI: %v", err)
		}
		id := mustIdentity(t, dir, "alpha")
		if !keyMatches(id.cert.Leaf, key) {
			t.Errorf("the new certificate is not for the key that was there")
		}
	})

	t.Run("certificate without key", func(t *testing.T) {
		dir := newPKI(t, "alpha")
		if err := os.Remove(filepath.Join(dir, "alpha.key")); err != nil {
			t.Fatal(err)
		}
		err := EnsurePKI(dir, []string{"alpha"})
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "alpha.key")) {
			t.Errorf("err = %v; want an error naming alpha.key", err)
		}
	})

	t.Run("CA certificate without key", func(t *testing.T) {
		dir := newPKI(t, "alpha")
		if err := os.Remove(filepath.Join(dir, "ca.key")); err != nil {
			t.Fatal(err)
		}
		err := EnsurePKI(dir, []string{"alpha"})
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "ca.key")) {
			t.Errorf("err = %v; want an error naming ca.key", err)
		}
	})

	t.Run("CA lost, region certificates kept", func(t *testing.T) {
		dir := newPKI(t, "alpha")
		for _, name := range []string{"ca.crt", "ca.key"} {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
		err := EnsurePKI(dir, []string{"alpha"})
		if !errors.Is(err, ErrNotSignedByCA) {
			t.Errorf("err = %v; want ErrNotSignedByCA", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "ca.crt")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("EnsurePKI wrote a new CA although it cannot have signed alpha.crt")
		}
	})
}

func TestEnsurePKIInvalidRegions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	bad := []string{"", "Upper", "ca", "-lead", "trail-", "dot.ted", "../escape", strings.Repeat("x", 64)}
	err := EnsurePKI(dir, append([]string{"good-1"}, bad...))
	if !errors.Is(err, ErrInvalidRegion) {
		t.Fatalf("err = %v; want ErrInvalidRegion", err)
	}
	for _, name := range bad {
		if !strings.Contains(err.Error(), `"`+name+`"`) {
			t.Errorf("error does not name %q: %v", name, err)
		}
	}
	if strings.Contains(err.Error(), "good-1") {
		t.Errorf("error names the valid region good-1: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("EnsurePKI created the directory despite invalid regions")
	}
}

func TestLoadIdentityErrors(t *testing.T) {
	dir := newPKI(t, "alpha", "beta")
	// A copy of dir with one file removed or replaced.
	variant := func(t *testing.T, remove string, replace map[string]string) string {
		t.Helper()
		out := t.TempDir()
		for name, f := range snapshot(t, dir) {
			if name == remove {
				continue
			}
			data := f.data
			if from, ok := replace[name]; ok {
				var err error
				if data, err = os.ReadFile(filepath.Join(dir, from)); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(out, name), data, f.mode); err != nil {
				t.Fatal(err)
			}
		}
		return out
	}

	for _, tc := range []struct {
		name    string
		remove  string
		replace map[string]string
		region  string
		naming  []string // files the error must name
	}{
		{name: "no CA", remove: "ca.crt", region: "alpha", naming: []string{"ca.crt"}},
		{name: "no certificate", remove: "alpha.crt", region: "alpha", naming: []string{"alpha.crt"}},
		{name: "no key", remove: "alpha.key", region: "alpha", naming: []string{"alpha.key"}},
		{name: "unknown region", region: "gamma", naming: []string{"gamma.crt"}},
		{name: "key is a certificate", replace: map[string]string{"alpha.key": "alpha.crt"}, region: "alpha", naming: []string{"alpha.key"}},
		{name: "key of another region", replace: map[string]string{"alpha.key": "beta.key"}, region: "alpha", naming: []string{"alpha.crt", "alpha.key"}},
		{name: "certificate of another region", replace: map[string]string{"alpha.crt": "beta.crt"}, region: "alpha", naming: []string{"alpha.crt"}},
		{name: "CA is a region", replace: map[string]string{"ca.crt": "beta.crt"}, region: "alpha", naming: []string{"ca.crt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := variant(t, tc.remove, tc.replace)
			_, err := LoadIdentity(d, tc.region)
			if err == nil {
				t.Fatalf("LoadIdentity succeeded")
			}
			for _, name := range tc.naming {
				if !strings.Contains(err.Error(), filepath.Join(d, name)) {
					t.Errorf("error does not name %s: %v", name, err)
				}
			}
		})
	}
}
