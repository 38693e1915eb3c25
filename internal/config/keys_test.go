package config

import (
	"reflect"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hashistack/bootstrap/internal/node"
)

func TestKeysCoverConfig(t *testing.T) {
	var fields []string
	for name := range leafFields(reflect.TypeFor[node.Config](), "", nil) {
		fields = append(fields, name)
	}
	var keys []string
	for _, k := range Keys() {
		keys = append(keys, k.Name)
	}
	slices.Sort(fields)
	slices.Sort(keys)
	if diff := cmp.Diff(fields, keys); diff != "" {
		t.Errorf("keys of node.Config (-want +got):\n%s", diff)
	}
}

func TestKeysTypesMatchFields(t *testing.T) {
	kinds := map[Type]reflect.Type{
		TypeString:   reflect.TypeFor[string](),
		TypeList:     reflect.TypeFor[[]string](),
		TypeInteger:  reflect.TypeFor[int](),
		TypeBoolean:  reflect.TypeFor[bool](),
		TypeDuration: reflect.TypeFor[node.Duration](),
	}
	var cfg node.Config
	for i := range keyDefs {
		k := &keyDefs[i]
		if got := k.field(&cfg).Type(); got != kinds[k.Type] {
			t.Errorf("key %s is %s but its field is %s", k.Name, k.Type, got)
		}
		if k.Doc == "" {
			t.Errorf("key %s has no Doc", k.Name)
		}
		if k.Default != "" && k.DefaultFrom != "" {
			t.Errorf("key %s has both Default and DefaultFrom", k.Name)
		}
	}
}

func TestKeysReturnsCopy(t *testing.T) {
	keys := Keys()
	keys[0].Name = "changed"
	if Keys()[0].Name == "changed" {
		t.Error("Keys returned the package's own slice")
	}
}
