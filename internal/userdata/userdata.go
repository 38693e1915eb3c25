// Package userdata finds the agent's TOML document in EC2 user-data.
//
// User-data may be a plain TOML document, a gzip-compressed one, or the
// application/toml part of a MIME multipart message that also carries
// cloud-init parts. User-data meant for another program (a shell script,
// #cloud-config and the other cloud-init formats) is reported as not ours so
// the caller can log it and go on.
//
// The package only decodes bytes: it never parses the TOML, performs no I/O
// and never logs, so a secret that someone wrongly put in user-data goes no
// further than the returned document.
package userdata

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
)

// MaxRawSize is the largest user-data accepted, in bytes. EC2 rejects
// user-data over 16 KiB (counted before its base64 encoding), so anything
// larger did not come from EC2.
const MaxRawSize = 16 << 10

// MaxDecodedSize is the largest document accepted after gzip decompression,
// in bytes. It bounds the memory a gzip bomb can take.
const MaxDecodedSize = 256 << 10

// Errors that Decode wraps, for classification with errors.Is.
var (
	// ErrTooLarge reports user-data over MaxRawSize or a decompressed
	// document over MaxDecodedSize.
	ErrTooLarge = errors.New("user-data too large")
	// ErrDoubleEncoded reports gzip data that was base64-encoded once more
	// than EC2 expects.
	ErrDoubleEncoded = errors.New("user-data is base64-encoded gzip")
	// ErrMalformed reports a truncated gzip stream, an unreadable MIME
	// message or a message with more than one application/toml part.
	ErrMalformed = errors.New("malformed user-data")
)

// Result is the outcome of Decode.
type Result struct {
	// Doc is the TOML document. It is nil unless Ours is true.
	Doc []byte
	// Ours reports whether the user-data carries the agent's configuration.
	Ours bool
	// Kind describes the user-data for the caller's log line, such as
	// "toml", "gzip mime part 2", "shell script" or "empty".
	Kind string
}

var (
	gzipMagic = []byte{0x1f, 0x8b}
	utf8BOM   = []byte{0xef, 0xbb, 0xbf}
)

// Decode returns the agent's TOML document from raw user-data, or a Result
// with Ours false when the user-data is for another program or empty.
//
// A gzip stream is decompressed and its content decoded again, because
// cloud-init accepts a compressed MIME message. Everything that is neither
// gzip, MIME, empty nor a cloud-init format is taken as TOML: a syntax error
// then shows up when the config stage parses it, with its line number.
func Decode(raw []byte) (Result, error) {
	if len(raw) > MaxRawSize {
		return Result{}, fmt.Errorf("%w: %d bytes, over the EC2 limit of %d bytes",
			ErrTooLarge, len(raw), MaxRawSize)
	}
	if bytes.HasPrefix(raw, gzipMagic) {
		doc, err := gunzip(raw)
		if err != nil {
			return Result{}, err
		}
		if bytes.HasPrefix(doc, gzipMagic) {
			return Result{}, fmt.Errorf("%w: gzip inside gzip: compress the document once",
				ErrMalformed)
		}
		res, err := decodeText(doc)
		res.Kind = "gzip " + res.Kind
		return res, err
	}
	return decodeText(raw)
}

// decodeText classifies uncompressed user-data.
func decodeText(data []byte) (Result, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	if len(bytes.TrimSpace(data)) == 0 {
		return Result{Kind: "empty"}, nil
	}
	if isBase64Gzip(data) {
		return Result{}, fmt.Errorf("%w: EC2 already base64-decodes user-data once, "+
			"so pass the gzip bytes themselves (for example with fileb:// in the AWS CLI)",
			ErrDoubleEncoded)
	}
	if isMIME(data) {
		return decodeMIME(data)
	}
	if kind, foreign := foreignKind(data); foreign {
		return Result{Kind: kind}, nil
	}
	return Result{Doc: data, Ours: true, Kind: "toml"}, nil
}

// gunzip decompresses a gzip stream of at most MaxDecodedSize bytes.
func gunzip(data []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: read gzip header: %w", ErrMalformed, err)
	}
	doc, err := io.ReadAll(io.LimitReader(zr, MaxDecodedSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: decompress gzip: %w (the stream is damaged or cut short: "+
			"compress the document again and pass the whole file)", ErrMalformed, err)
	}
	if len(doc) > MaxDecodedSize {
		return nil, fmt.Errorf("%w: decompressed gzip is more than %d bytes",
			ErrTooLarge, MaxDecodedSize)
	}
	return doc, nil
}

// isBase64Gzip reports whether data is base64 text whose decoded bytes
// start with the gzip magic number. Line breaks in the text are ignored, as
// base64 tools insert them.
func isBase64Gzip(data []byte) bool {
	text := bytes.Join(bytes.Fields(data), nil)
	// "H4s" is the base64 of 1f 8b followed by the first bits of any byte.
	if !bytes.HasPrefix(text, []byte("H4s")) {
		return false
	}
	decoded := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	n, err := base64.StdEncoding.Decode(decoded, text)
	return err == nil && bytes.HasPrefix(decoded[:n], gzipMagic)
}

// foreignKinds maps the first-line markers of cloud-init formats to the
// Kind reported for them. Longer markers come first where one marker is a
// prefix of another.
var foreignKinds = []struct{ marker, kind string }{
	{"#!", "shell script"},
	{"#cloud-config-archive", "cloud-config-archive"},
	{"#cloud-config", "cloud-config"},
	{"#include", "include list"},
	{"#cloud-boothook", "cloud-boothook"},
	{"#part-handler", "part-handler"},
	{"#upstart-job", "upstart-job"},
	{"## template: jinja", "jinja template"},
}

// foreignKind reports whether data starts with the marker of a format that
// belongs to cloud-init or another program.
func foreignKind(data []byte) (string, bool) {
	for _, f := range foreignKinds {
		if bytes.HasPrefix(data, []byte(f.marker)) {
			return f.kind, true
		}
	}
	return "", false
}
