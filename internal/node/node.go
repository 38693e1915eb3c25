// Package node defines the plain values that the runner passes from one
// stage to the next: the facts about the instance that IMDS returned and
// the effective configuration merged from every input.
//
// The package holds data only. It performs no I/O, so every stage package
// may import it without importing another stage.
package node

// Instance contains what the metadata stage learned about this EC2 instance.
type Instance struct {
	InstanceID       string `json:"instance_id"`
	AccountID        string `json:"account_id"`
	Region           string `json:"region"`
	AvailabilityZone string `json:"availability_zone"`
	PrivateIP        string `json:"private_ip"`
	InstanceType     string `json:"instance_type"`
	ImageID          string `json:"image_id"`

	// UserData is the raw user-data, before any decoding. It is nil when the
	// instance has none (IMDS returns 404).
	UserData []byte `json:"-"`

	// Tags contains every instance tag by its full key, prefix included.
	Tags map[string]string `json:"tags"`

	// TagsSource names where Tags came from: "imds" or "ec2:DescribeTags".
	TagsSource string `json:"tags_source"`

	// TargetLifecycleState is the Auto Scaling target lifecycle state, such as
	// "InService" or "Warmed:Stopped". It is empty when the instance is not
	// in an Auto Scaling group (IMDS returns 404).
	TargetLifecycleState string `json:"target_lifecycle_state,omitempty"`
}
