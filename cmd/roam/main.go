// Command roam runs WebAssembly programs that can pause anywhere and resume
// anywhere. See README.md.
package main

import (
	"os"

	"github.com/roam-edge/roam/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
