package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/uwsportal/uwsportal/internal/cli"
	"github.com/uwsportal/uwsportal/internal/tsim"
)

// asyncDelay is how long the simulator takes to do a device action, as
// ThingSpace does later what it accepted now.
const asyncDelay = 5 * time.Second

// followDemo makes the simulator asynchronous, registers the portal as
// fleet's callback listener and suspends one line, so that the Requests
// page shows it going from pending to done once the portal is up (the
// simulator retries the callback until the portal answers).
func followDemo(ctx context.Context, getenv func(string) string, sim *tsim.Server) error {
	mdn, err := suspendOne(ctx, getenv, sim)
	if err != nil {
		return err
	}
	say("suspended fleet line %s: ThingSpace (the simulator) does it %s later and calls the portal back; watch it go from pending to succeeded at http://%s/departments/fleet/requests (sign in as lena)", mdn, asyncDelay, portalAddr)
	return nil
}

func suspendOne(ctx context.Context, getenv func(string) string, sim *tsim.Server) (string, error) {
	sim.SetAsync(tsim.AsyncOptions{Delay: asyncDelay, Retry: 3 * time.Second, MaxCallbacks: 10})
	run := func(args ...string) (string, error) {
		var out, errs strings.Builder
		err := cli.Run(ctx, append([]string{"uwsportal"}, args...), getenv, cli.Stdio{In: strings.NewReader(""), Out: &out, Err: &errs})
		if err != nil {
			return "", fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, errs.String())
		}
		return out.String(), nil
	}
	if _, err := run("callbacks", "register", "--department", "fleet"); err != nil {
		return "", err
	}
	list, err := run("devices", "list", "--department", "fleet", "--state", "active", "--json")
	if err != nil {
		return "", err
	}
	var devs []struct {
		IDs []struct{ Kind, ID string } `json:"IDs"`
	}
	if err := json.Unmarshal([]byte(list), &devs); err != nil {
		return "", fmt.Errorf("read the device list: %w", err)
	}
	for _, d := range devs {
		for _, id := range d.IDs {
			if id.Kind == "mdn" {
				_, err := run("devices", "suspend", "--department", "fleet", "--device", id.ID)
				return id.ID, err
			}
		}
	}
	return "", fmt.Errorf("no active line with an MDN in fleet")
}
