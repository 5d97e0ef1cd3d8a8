// Package node is the node agent: it runs instances, serves the instance API
// over HTTP (docs/api.md), stores modules by digest, keeps instances across
// its own restarts, and moves running instances to other nodes with the live
// migration protocol of DESIGN.md section 4 (pre-copy, stop-and-copy,
// prepare and commit with epochs).
//
// It builds on engine, snapshot and wasi and must not depend on the CLI or
// on the control plane: the control plane talks to it over HTTP.
package node
