// Command tend is the playbook engine's command line: validate, simulate and
// (in later releases) run customer-success playbooks. See README.md.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
