package units

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

// SystemSocket is the system manager's private D-Bus socket, which Dial
// uses in place of the system bus. bootstrap runs as root early in boot and
// must not depend on a bus daemon being up. systemctl also talks to the
// manager this way when run as root. The manager accepts connections on it
// from root only.
const SystemSocket = "/run/systemd/private"

var _ Conn = (*sddbus.Conn)(nil)

// Dial connects to a systemd manager's private socket: the system manager
// when socket is empty, otherwise the manager listening on socket (a user
// manager's is $XDG_RUNTIME_DIR/systemd/private). It authenticates with
// EXTERNAL as this process's uid and sends no Hello, because no bus daemon
// sits between the two ends.
//
// The connection is closed when ctx is done; the caller closes it earlier
// with Close.
func Dial(ctx context.Context, socket string) (*sddbus.Conn, error) {
	if socket == "" {
		socket = SystemSocket
	}
	conn, err := sddbus.NewConnection(func() (*dbus.Conn, error) {
		return dialPrivate(ctx, socket)
	})
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("connect to systemd at %s: no manager listens there (is systemd running?): %w",
			socket, err)
	case errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("connect to systemd at %s: permission denied (run as root): %w", socket, err)
	case err != nil:
		return nil, fmt.Errorf("connect to systemd at %s: %w", socket, err)
	}
	return conn, nil
}

func dialPrivate(ctx context.Context, socket string) (*dbus.Conn, error) {
	conn, err := dbus.Dial("unix:path="+dbus.EscapeBusAddressValue(socket), dbus.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	auth := []dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}
	if err := conn.Auth(auth); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	return conn, nil
}
