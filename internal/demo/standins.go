package main

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/hashistack/bootstrap/internal/standin/awsapi"
	"github.com/hashistack/bootstrap/internal/standin/vault"
)

// demoGroup is the Auto Scaling group every demo instance launches into;
// its launching hook makes each first boot end with CONTINUE.
const demoGroup = "demo-asg"

// demoCredentials are the instances' AWS credentials. The stand-ins check
// every signature against them.
var demoCredentials = aws.Credentials{AccessKeyID: "AKIDDEMO", SecretAccessKey: "demo-not-a-secret"}

// standins are the AWS and Vault stand-ins the demo nodes share.
type standins struct {
	sts         *awsapi.Server
	autoScaling *awsapi.AutoScaling
	vault       *vault.Server
}

// startAWS starts STS, Auto Scaling and a Vault whose AWS auth method
// accepts the demo nodes of the payments namespace. The secret values are
// made-up demo strings.
func startAWS() (*standins, error) {
	opts := awsapi.Options{Region: "eu-west-1", Credentials: demoCredentials}
	s := &standins{}
	s.sts = awsapi.Serve(awsapi.STSService(awsapi.CallerIdentity{
		Arn:     "arn:aws:sts::123456789012:assumed-role/payments-node/i-0de0",
		UserID:  "AROADEMO:i-0de0",
		Account: "123456789012",
	}), opts)
	s.autoScaling = awsapi.ServeAutoScaling(opts, awsapi.Group{
		Name: demoGroup,
		Hooks: []awsapi.Hook{{Name: "launch", Transition: awsapi.TransitionLaunching,
			HeartbeatTimeout: 5 * time.Minute}},
	})
	v, err := vault.Launch(vault.Config{
		STSEndpoint: s.sts.URL,
		ServerID:    "vault.demo.internal",
		Roles: map[string]vault.Role{"payments": {
			BoundARN: "arn:aws:sts::123456789012:assumed-role/payments-node/*",
			Policies: []string{"payments"}}},
		Policies: map[string][]string{"payments": {"secret/data/payments/*",
			"consul/creds/payments-*", "pki/issue/payments-*"}},
		KV: map[string]map[string]string{
			"secret/data/payments/consul/gossip": {"key": "ZGVtby1nb3NzaXAta2V5LWNvbnN1bA=="},
			"secret/data/payments/nomad/gossip":  {"key": "ZGVtby1nb3NzaXAta2V5LW5vbWFkLg=="},
		},
		ConsulTokens: map[string]string{"consul/creds/payments-consul-agent": "demo-consul-agent-token"},
		PKIRoles:     []string{"pki/issue/payments-consul", "pki/issue/payments-nomad"},
	})
	if err != nil {
		s.stop()
		return nil, err
	}
	s.vault = v
	return s, nil
}

func (s *standins) stop() {
	if s.vault != nil {
		s.vault.Close()
	}
	s.autoScaling.Close()
	s.sts.Close()
}
