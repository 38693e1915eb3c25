package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hashistack/bootstrap/internal/standin/awsapi"
	"github.com/hashistack/bootstrap/internal/standin/imds"
	"github.com/hashistack/bootstrap/internal/testenv/imdsmock"
)

var update = flag.Bool("update", false, "rewrite the expected output inside the scripts")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"bootstrap": func() {
			os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
		},
	})
}

// scriptInstanceID is the instance every `imds` command serves.
const scriptInstanceID = "i-0c11000000000a001"

// scriptCredentials are the AWS credentials every script signs with.
var scriptCredentials = aws.Credentials{AccessKeyID: "AKIDSCRIPTTEST",
	SecretAccessKey: "script-test-not-a-secret"}

// TestScripts runs the CLI scripts in testdata/script. Each script starts
// its own IMDS (AWS's mock, or the stand-in for faults the mock cannot
// produce) on loopback with the `imds` command.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: *update,
		Setup: func(e *testscript.Env) error {
			e.Setenv("HOME", e.WorkDir)
			// Any other AWS API gets a closed loopback port, so an
			// unexpected call fails here.
			e.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
			e.Setenv("AWS_ACCESS_KEY_ID", scriptCredentials.AccessKeyID)
			e.Setenv("AWS_SECRET_ACCESS_KEY", scriptCredentials.SecretAccessKey)
			e.Setenv("AWS_REGION", "eu-west-1")
			// AWS's IMDS mock puts every instance InService, so the signal
			// stage queries Auto Scaling. This stand-in keeps the script instance in
			// a group without a launching hook, so there is no action.
			as := awsapi.ServeAutoScaling(awsapi.Options{Region: "eu-west-1",
				Credentials: scriptCredentials}, awsapi.Group{Name: "script-asg"})
			as.Launch(scriptInstanceID, "script-asg", awsapi.Launch{})
			e.Defer(as.Close)
			e.Setenv("AWS_ENDPOINT_URL_AUTO_SCALING", as.URL)
			e.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9")
			return nil
		},
		Cmds:      scriptCmds(),
		Condition: scriptCondition,
	})
}

func scriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	cmds := map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"imds":     cmdIMDS,
		"gzip":     cmdGzip,
		"truncate": cmdTruncate,
		"repeat":   cmdRepeat,
	}
	for name, cmd := range diagnoseCmds {
		cmds[name] = cmd
	}
	return cmds
}

// cmdIMDS serves an instance whose user-data is the named file, with the
// given KEY=VALUE tags, and points AWS_EC2_METADATA_SERVICE_ENDPOINT at it.
//
//	imds [-refuse-token] [-empty-identity] USERDATA [KEY=VALUE ...]
//
// Without a fault flag and with at most two tags it runs AWS's mock;
// otherwise the stand-in that speaks the same IMDSv2 protocol.
func cmdIMDS(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! imds")
	}
	var refuse, empty bool
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-refuse-token":
			refuse = true
		case "-empty-identity":
			empty = true
		default:
			ts.Fatalf("imds: unknown flag %s", args[0])
		}
		args = args[1:]
	}
	if len(args) == 0 {
		ts.Fatalf("usage: imds [-refuse-token] [-empty-identity] USERDATA [KEY=VALUE ...]")
	}
	ud, err := os.ReadFile(ts.MkAbs(args[0])) // byte for byte, gzip included
	ts.Check(err)
	// A Name tag, as every real instance has. With no tag at all the mock
	// returns 404 for tags, and the agent would fall back to DescribeTags.
	tags := map[string]string{"Name": "script-node"}
	for _, kv := range args[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			ts.Fatalf("imds: tag %q is not KEY=VALUE", kv)
		}
		tags[k] = v
	}
	const instanceID = scriptInstanceID
	var url string
	if refuse || empty || len(tags) > 2 {
		id := imds.Identity{
			InstanceID: instanceID, AccountID: "123456789012", Region: "eu-west-1",
			AvailabilityZone: "eu-west-1a", PrivateIP: "10.1.2.3",
		}
		if empty {
			id.InstanceID = ""
		}
		srv, err := imds.Launch(imds.Config{
			Identity: id, UserData: ud, Tags: tags, RefuseToken: refuse,
		})
		ts.Check(err)
		ts.Defer(srv.Close)
		url = srv.URL
	} else {
		dir := filepath.Join(ts.Getenv("WORK"), ".imds")
		ts.Check(os.MkdirAll(dir, 0o755))
		p, err := imdsmock.Launch(context.Background(), dir, imdsmock.Config{
			InstanceID: instanceID, AccountID: "123456789012", Region: "eu-west-1",
			PrivateIP: "10.1.2.3", Tags: tags, UserData: ud,
		})
		ts.Check(err)
		ts.Defer(p.Stop)
		url = p.URL
	}
	ts.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url)
}

// cmdGzip compresses SRC into DST, and base64-encodes the result with
// -base64, as a user who encodes user-data twice would.
//
//	gzip [-base64] SRC DST
func cmdGzip(ts *testscript.TestScript, neg bool, args []string) {
	b64 := len(args) > 0 && args[0] == "-base64"
	if b64 {
		args = args[1:]
	}
	if neg || len(args) != 2 {
		ts.Fatalf("usage: gzip [-base64] SRC DST")
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(ts.ReadFile(args[0])))
	ts.Check(zw.Close())
	out := buf.Bytes()
	if b64 {
		out = []byte(base64.StdEncoding.EncodeToString(out))
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), out, 0o644))
}

// cmdTruncate copies the first N bytes of SRC to DST, as a transfer cut
// short would leave them.
//
//	truncate SRC DST N
func cmdTruncate(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: truncate SRC DST N")
	}
	n, err := strconv.Atoi(args[2])
	ts.Check(err)
	data, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), data[:min(n, len(data))], 0o644))
}

// cmdRepeat writes SRC repeated N times to DST.
//
//	repeat SRC DST N
func cmdRepeat(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: repeat SRC DST N")
	}
	n, err := strconv.Atoi(args[2])
	ts.Check(err)
	data, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), bytes.Repeat(data, n), 0o644))
}
