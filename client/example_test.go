package client_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/roam-edge/roam/client"
)

// Start a program on one node, move it live to another and wait for its end
// there, through the node it started on.
func Example() {
	ctx := context.Background()
	c, err := client.New("http://127.0.0.1:7474", os.Getenv("ROAM_TOKEN"))
	if err != nil {
		log.Fatal(err)
	}
	wasm, err := os.ReadFile("prog.wasm")
	if err != nil {
		log.Fatal(err)
	}
	digest, err := c.UploadModule(ctx, wasm)
	if err != nil {
		log.Fatal(err)
	}
	in, err := c.Start(ctx, client.StartRequest{Module: digest, Args: []string{"prog.wasm", "--size", "64"}})
	if err != nil {
		log.Fatal(err)
	}
	res, err := c.Migrate(ctx, in.ID, "http://10.0.0.2:7474", func(ev client.MigrateEvent) {
		fmt.Printf("round %d: %d bytes\n", ev.Round, ev.Bytes)
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("downtime %.2f ms over %d rounds\n", res.DowntimeMS, res.Rounds)
	end, err := c.Wait(ctx, in.ID)
	if err != nil {
		log.Fatal(err)
	}
	os.Exit(end.ExitCode)
}
