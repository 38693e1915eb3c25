package iampolicy

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// sdkServicePrefix is the import path prefix of the AWS SDK's service
// packages. Each package is named after the IAM service prefix (ec2,
// autoscaling, secretsmanager, sts).
const sdkServicePrefix = "github.com/aws/aws-sdk-go-v2/service/"

// SourceActions returns the AWS actions that the non-test Go files below
// dir refer to, sorted, skipping the directories named in skip (relative
// to dir, slash-separated). Every SDK operation takes a request type named
// after it, such as autoscaling.CompleteLifecycleActionInput, so a
// reference to that type marks the action as called.
func SourceActions(dir string, skip []string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			if slices.Contains(skip, filepath.ToSlash(rel)) || strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		actions, err := fileActions(path)
		out = append(out, actions...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", dir, err)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func fileActions(path string) ([]string, error) {
	file, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	services := map[string]string{} // local package name to service
	for _, imp := range file.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		service, ok := strings.CutPrefix(p, sdkServicePrefix)
		if !ok || strings.Contains(service, "/") {
			continue
		}
		name := service
		if imp.Name != nil {
			name = imp.Name.Name
		}
		services[name] = service
	}
	var out []string
	ast.Inspect(file, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		pkg, ok := sel.X.(*ast.Ident)
		if !ok || services[pkg.Name] == "" {
			return true
		}
		if action, ok := strings.CutSuffix(sel.Sel.Name, "Input"); ok && action != "" {
			out = append(out, services[pkg.Name]+":"+action)
		}
		return true
	})
	return out, nil
}
