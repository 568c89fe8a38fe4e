// Command polyregion runs AWS's global building blocks — GSLB DNS, an edge accelerator,
// global tables, replicated buckets and a global PostgreSQL — on machines you own.
package main

import (
	"os"

	"github.com/polyregion/polyregion/internal/app"
)

func main() {
	os.Exit(app.Main(os.Args[1:], os.Stdout, os.Stderr))
}
