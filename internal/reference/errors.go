package reference

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

// Sentinel is one error class the agent declares with errors.New.
type Sentinel struct {
	// Name is the package-qualified variable, such as "config.ErrUnknownKey".
	Name    string
	Message string
}

// Sentinels returns the package-level Err variables initialized with
// errors.New and a constant message, in the non-test Go files below dir,
// skipping the directories named in skip (relative to dir, slash-separated).
func Sentinels(dir string, skip []string) ([]Sentinel, error) {
	var out []Sentinel
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() && slices.Contains(skip, filepath.ToSlash(rel)) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		found, err := fileSentinels(path)
		out = append(out, found...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", dir, err)
	}
	return out, nil
}

func fileSentinels(path string) ([]Sentinel, error) {
	file, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var out []Sentinel
	for _, decl := range file.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.VAR {
			continue
		}
		for _, spec := range gen.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Err") || i >= len(vs.Values) {
					continue
				}
				if msg, ok := errorsNewMessage(vs.Values[i]); ok {
					out = append(out, Sentinel{Name: file.Name.Name + "." + name.Name, Message: msg})
				}
			}
		}
	}
	return out, nil
}

// errorsNewMessage returns the message of errors.New("...") whose argument
// is a string literal or a sum of them.
func errorsNewMessage(e ast.Expr) (string, bool) {
	call, ok := e.(*ast.CallExpr)
	if !ok || len(call.Args) != 1 {
		return "", false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "New" {
		return "", false
	}
	if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "errors" {
		return "", false
	}
	return constantString(call.Args[0])
}

func constantString(e ast.Expr) (string, bool) {
	switch v := e.(type) {
	case *ast.BasicLit:
		if v.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(v.Value)
		return s, err == nil
	case *ast.BinaryExpr:
		if v.Op != token.ADD {
			return "", false
		}
		left, ok1 := constantString(v.X)
		right, ok2 := constantString(v.Y)
		return left + right, ok1 && ok2
	}
	return "", false
}
