package diagnose

import (
	"context"
	"fmt"
	"strings"
)

// UnitConn is the read-only part of go-systemd's dbus.Conn that the units
// check uses; it never starts, stops or reloads anything.
type UnitConn interface {
	GetUnitPropertiesContext(ctx context.Context, unit string) (map[string]any, error)
	GetUnitTypePropertiesContext(ctx context.Context, unit, unitType string) (map[string]any, error)
	Close()
}

func (e *env) checkUnits(ctx context.Context) Result {
	if r := e.needRole("units"); r != nil {
		return *r
	}
	if warm(e.st) {
		return result("units", Skip, "warm pool instance (%s): no unit is started until it goes in service",
			e.st.Instance.TargetLifecycleState)
	}
	if e.o.Systemd == nil {
		return result("units", Skip, "no systemd connection configured")
	}
	conn, err := e.o.Systemd(ctx)
	if err != nil {
		r := result("units", Fail, "%v", err)
		r.Fix = "run diagnose as root on the node, where systemd runs"
		return r
	}
	defer conn.Close()
	r := result("units", OK, "%s active", plural(len(e.role.Services), "unit"))
	for _, s := range e.role.Services {
		r.add(unitLine(ctx, conn, s.Unit))
	}
	if r.Status != OK {
		r.Summary = "a unit of the role is not active"
	}
	return r
}

// unitLine reads one unit's state. Only the state fields are taken from
// the property maps, which also hold the unit's command line and
// environment.
func unitLine(ctx context.Context, c UnitConn, unit string) Line {
	l := Line{Name: unit, Status: OK}
	props, err := c.GetUnitPropertiesContext(ctx, unit)
	if err != nil {
		l.Status, l.Value = Fail, "read unit state: "+err.Error()
		l.Fix = "systemctl status " + unit
		return l
	}
	active, sub := str(props, "ActiveState"), str(props, "SubState")
	load := str(props, "LoadState")
	l.Attrs = map[string]any{"active_state": active, "sub_state": sub, "load_state": load}
	l.Value = active + "/" + sub
	if strings.HasSuffix(unit, ".service") {
		if svc, err := c.GetUnitTypePropertiesContext(ctx, unit, "Service"); err == nil {
			l.Value += serviceDetail(svc, l.Attrs)
		}
	}
	switch {
	case load == "not-found":
		l.Status, l.Value = Fail, "not found: no unit file"
		l.Fix = "install the unit file (the AMI bake does), then check with systemctl cat " + unit
	case active == "active" || active == "reloading":
	case active == "activating" && sub != "auto-restart":
		l.Status, l.Fix = Warn, "the unit is starting; if it stays so, journalctl -u "+unit
	default:
		l.Status, l.Fix = Fail, "journalctl -u "+unit+" shows why it stopped; systemctl status "+unit
	}
	return l
}

// serviceDetail describes how a service last ended, as systemctl status
// does, and records the fields in attrs.
func serviceDetail(props map[string]any, attrs map[string]any) string {
	res := str(props, "Result")
	attrs["result"] = res
	code, _ := props["ExecMainCode"].(int32)
	status, _ := props["ExecMainStatus"].(int32)
	var parts []string
	if res != "" && res != "success" {
		parts = append(parts, "Result="+res)
	}
	switch code {
	case 1:
		if status != 0 {
			parts = append(parts, fmt.Sprintf("main process exited with status %d", status))
		}
	case 2, 3:
		parts = append(parts, fmt.Sprintf("main process killed by signal %d", status))
	}
	if text := str(props, "StatusText"); text != "" {
		parts = append(parts, fmt.Sprintf("status %q", text))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func str(props map[string]any, name string) string {
	s, _ := props[name].(string)
	return s
}
