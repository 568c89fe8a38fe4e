package app

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"github.com/polyregion/polyregion/internal/config"
	"github.com/polyregion/polyregion/internal/dns/geoip"
	"github.com/polyregion/polyregion/internal/peer"
)

// fleetOptions say which configuration a local fleet (init, up) runs.
type fleetOptions struct {
	dir       string   // the fleet's directory; becomes data_dir
	cfgPath   string   // configuration file; empty: DIR/polyregion.yaml if present, else the default
	regions   []string // run only these regions
	ephemeral bool     // listen on port 0 everywhere
}

// effectiveConfigName is the configuration a local fleet's regions run, inside its directory.
const effectiveConfigName = "polyregion.yaml"

// prepareFleet resolves the configuration of a local fleet, writes it to DIR/polyregion.yaml
// (keeping the credentials of an earlier run, or generating demo credentials) and makes sure
// the CA and every region's certificate exist.
func prepareFleet(o fleetOptions) (*config.Config, string, error) {
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return nil, "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", fmt.Errorf("fleet directory: %w", err)
	}
	effective := filepath.Join(dir, effectiveConfigName)
	var previous *config.Config
	if _, err := os.Stat(effective); err == nil {
		if previous, err = config.Load(effective); err != nil {
			return nil, "", err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, "", err
	}
	var cfg *config.Config
	switch {
	case o.cfgPath != "":
		if cfg, err = config.Load(o.cfgPath); err != nil {
			return nil, "", err
		}
	case previous != nil:
		cfg = previous
	default:
		cfg = config.Default()
	}
	if len(o.regions) > 0 {
		if cfg, err = cfg.Subset(o.regions); err != nil {
			return nil, "", usageError{err}
		}
	}
	cfg.DataDir = dir
	if cfg.Credentials.AccessKeyID == "" {
		if previous != nil && previous.Credentials.AccessKeyID != "" {
			cfg.Credentials = previous.Credentials
		} else {
			cfg.Credentials = demoCredentials()
		}
	}
	if o.ephemeral {
		for i := range cfg.Regions {
			r := &cfg.Regions[i]
			r.Listen.Peer = withPort(r.Listen.Peer, "0")
			r.Listen.Control = withPort(r.Listen.Control, "0")
			if r.Listen.DNS != "" {
				r.Listen.DNS = withPort(r.Listen.DNS, "0")
			}
			if r.Listen.DynamoDB != "" {
				r.Listen.DynamoDB = withPort(r.Listen.DynamoDB, "0")
			}
			r.PeerAddress = r.Listen.Peer
		}
	}
	if cfg.DNS.GeoIP == "" {
		// Locate clients with the demo database of the documentation address ranges, so
		// `dig +subnet=198.51.100.1/24` shows geolocation at work.
		cfg.DNS.GeoIP = filepath.Join(dir, "geoip-demo.mmdb")
	}
	if cfg.DNS.GeoIP == filepath.Join(dir, "geoip-demo.mmdb") {
		if err := geoip.WriteDemo(cfg.DNS.GeoIP); err != nil {
			return nil, "", fmt.Errorf("writing the demo GeoIP database: %w", err)
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, "", err
	}
	if _, err := configAccelerators(cfg); err != nil {
		return nil, "", err
	}
	b, err := cfg.Marshal()
	if err != nil {
		return nil, "", err
	}
	header := "# Written by polyregion: the configuration this fleet's regions run.\n# Edit it, or pass --config to 'polyregion up' to replace it.\n"
	if err := writeFileAtomic(effective, append([]byte(header), b...), 0o600); err != nil {
		return nil, "", err
	}
	if err := peer.EnsurePKI(PKIDir(cfg), cfg.Identities()); err != nil {
		return nil, "", err
	}
	return cfg, effective, nil
}

func withPort(addr, port string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return net.JoinHostPort(host, port)
}

// demoCredentials makes a random access key in the shape AWS clients expect.
func demoCredentials() config.Credentials {
	const upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	const mixed = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	pick := func(alphabet string, n int) string {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		for i := range b {
			b[i] = alphabet[int(b[i])%len(alphabet)]
		}
		return string(b)
	}
	return config.Credentials{AccessKeyID: "AKPR" + pick(upper, 16), SecretAccessKey: pick(mixed, 40)}
}

func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'), 0o600)
}

func readJSONFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
