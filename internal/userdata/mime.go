package userdata

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
)

// tomlMediaType is the Content-Type of the agent's part in a MIME message.
const tomlMediaType = "application/toml"

// isMIME reports whether data starts with a MIME header line, as cloud-init
// MIME messages do ("Content-Type: multipart/mixed; ..." or
// "MIME-Version: 1.0").
func isMIME(data []byte) bool {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	line = bytes.ToLower(line)
	return bytes.HasPrefix(line, []byte("content-type:")) ||
		bytes.HasPrefix(line, []byte("mime-version:"))
}

// decodeMIME returns the application/toml part of a MIME message. A
// single-part message is ours only when its own type is application/toml.
func decodeMIME(data []byte) (Result, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return Result{}, fmt.Errorf("%w: read mime header: %w", ErrMalformed, err)
	}
	mediaType, params, err := parseContentType(msg.Header.Get("Content-Type"))
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		if mediaType != tomlMediaType {
			return Result{Kind: "mime " + mediaType}, nil
		}
		doc, err := decodeBody(msg.Body, msg.Header.Get("Content-Transfer-Encoding"))
		if err != nil {
			return Result{}, err
		}
		return Result{Doc: doc, Ours: true, Kind: "mime toml"}, nil
	}
	boundary := params["boundary"]
	if boundary == "" {
		return Result{}, fmt.Errorf("%w: mime %s without a boundary parameter",
			ErrMalformed, mediaType)
	}
	return findTOMLPart(multipart.NewReader(msg.Body, boundary))
}

// findTOMLPart reads every part and returns the only application/toml one.
// Nested multipart parts are not searched.
func findTOMLPart(mr *multipart.Reader) (Result, error) {
	var found Result
	for index := 1; ; index++ {
		// NextRawPart leaves quoted-printable bodies encoded, so that
		// decodeBody handles every transfer encoding in one place.
		part, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Result{}, fmt.Errorf("%w: read mime part %d: %w", ErrMalformed, index, err)
		}
		mediaType, _, err := parseContentType(part.Header.Get("Content-Type"))
		if err != nil {
			return Result{}, fmt.Errorf("%w: mime part %d: %w", ErrMalformed, index, err)
		}
		if mediaType != tomlMediaType {
			continue
		}
		if found.Ours {
			return Result{}, fmt.Errorf("%w: more than one %s part (%s and part %d): "+
				"keep one", ErrMalformed, tomlMediaType, found.Kind, index)
		}
		doc, err := decodeBody(part, part.Header.Get("Content-Transfer-Encoding"))
		if err != nil {
			return Result{}, err
		}
		found = Result{Doc: doc, Ours: true, Kind: fmt.Sprintf("mime part %d", index)}
	}
	if !found.Ours {
		return Result{Kind: "mime without an " + tomlMediaType + " part"}, nil
	}
	return found, nil
}

// parseContentType parses a Content-Type header value. An absent header
// means text/plain, as RFC 2045 says.
func parseContentType(value string) (string, map[string]string, error) {
	if value == "" {
		return "text/plain", nil, nil
	}
	mediaType, params, err := mime.ParseMediaType(value)
	if err != nil {
		return "", nil, fmt.Errorf("parse content-type %q: %w", value, err)
	}
	return mediaType, params, nil
}

// decodeBody reads a MIME body and undoes its Content-Transfer-Encoding.
func decodeBody(body io.Reader, encoding string) ([]byte, error) {
	var r io.Reader
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "7bit", "8bit", "binary":
		r = body
	case "base64":
		// The decoder skips the line breaks that MIME base64 carries.
		r = base64.NewDecoder(base64.StdEncoding, body)
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	default:
		return nil, fmt.Errorf("%w: unsupported content-transfer-encoding %q: "+
			"use base64, quoted-printable or none", ErrMalformed, encoding)
	}
	doc, err := io.ReadAll(io.LimitReader(r, MaxDecodedSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: decode %s body: %w", ErrMalformed, tomlMediaType, err)
	}
	if len(doc) > MaxDecodedSize {
		return nil, fmt.Errorf("%w: %s part is more than %d bytes",
			ErrTooLarge, tomlMediaType, MaxDecodedSize)
	}
	return doc, nil
}
