package userdata

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const doc = "role = \"nomad-client\"\nnamespace = \"payments\"\n"

func gzipBytes(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// mimeMessage builds a cloud-init style multipart message from parts, each
// given as its part headers and body.
func mimeMessage(parts ...[2]string) string {
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=\"BOUNDARY\"\r\n")
	b.WriteString("MIME-Version: 1.0\r\n\r\n")
	for _, p := range parts {
		b.WriteString("--BOUNDARY\r\n" + p[0] + "\r\n\r\n" + p[1] + "\r\n")
	}
	b.WriteString("--BOUNDARY--\r\n")
	return b.String()
}

var (
	scriptPart = [2]string{"Content-Type: text/x-shellscript", "#!/bin/sh\necho hi"}
	configPart = [2]string{"Content-Type: text/cloud-config", "#cloud-config\nruncmd: []"}
	tomlPart   = [2]string{"Content-Type: application/toml", doc}
)

func TestDecode(t *testing.T) {
	mimeWithTOML := mimeMessage(scriptPart, tomlPart, configPart)
	tests := []struct {
		name string
		raw  []byte
		want Result
	}{
		{"plain_toml", []byte(doc), Result{Doc: []byte(doc), Ours: true, Kind: "toml"}},
		{"toml_with_bom", append([]byte("\ufeff"), doc...),
			Result{Doc: []byte(doc), Ours: true, Kind: "toml"}},
		{"nil", nil, Result{Kind: "empty"}},
		{"whitespace", []byte(" \n\t\n"), Result{Kind: "empty"}},
		{"shell_script", []byte("#!/bin/bash\necho hi\n"), Result{Kind: "shell script"}},
		{"cloud_config", []byte("#cloud-config\npackages: []\n"), Result{Kind: "cloud-config"}},
		{"cloud_config_crlf", []byte("#cloud-config\r\n"), Result{Kind: "cloud-config"}},
		{"cloud_config_archive", []byte("#cloud-config-archive\n- type: x\n"),
			Result{Kind: "cloud-config-archive"}},
		{"include", []byte("#include\nhttps://example.com/a\n"), Result{Kind: "include list"}},
		{"boothook", []byte("#cloud-boothook\necho\n"), Result{Kind: "cloud-boothook"}},
		{"part_handler", []byte("#part-handler\n"), Result{Kind: "part-handler"}},
		{"upstart_job", []byte("#upstart-job\n"), Result{Kind: "upstart-job"}},
		{"jinja", []byte("## template: jinja\n#cloud-config\n"), Result{Kind: "jinja template"}},
		{"toml_comment_first", []byte("# settings\n" + doc),
			Result{Doc: []byte("# settings\n" + doc), Ours: true, Kind: "toml"}},
		{"gzip_toml", gzipBytes(t, []byte(doc)),
			Result{Doc: []byte(doc), Ours: true, Kind: "gzip toml"}},
		{"gzip_script", gzipBytes(t, []byte("#!/bin/sh\n")), Result{Kind: "gzip shell script"}},
		{"gzip_empty", gzipBytes(t, nil), Result{Kind: "gzip empty"}},
		{"gzip_mime", gzipBytes(t, []byte(mimeWithTOML)),
			Result{Doc: []byte(doc), Ours: true, Kind: "gzip mime part 2"}},
		{"mime_toml_part", []byte(mimeWithTOML),
			Result{Doc: []byte(doc), Ours: true, Kind: "mime part 2"}},
		{"mime_toml_with_charset", []byte(mimeMessage(
			[2]string{"Content-Type: application/toml; charset=\"utf-8\"", doc})),
			Result{Doc: []byte(doc), Ours: true, Kind: "mime part 1"}},
		{"mime_base64_part", []byte(mimeMessage([2]string{
			"Content-Type: application/toml\r\nContent-Transfer-Encoding: base64",
			wrap(base64.StdEncoding.EncodeToString([]byte(doc)), 8)})),
			Result{Doc: []byte(doc), Ours: true, Kind: "mime part 1"}},
		{"mime_quoted_printable_part", []byte(mimeMessage([2]string{
			"Content-Type: application/toml\r\nContent-Transfer-Encoding: quoted-printable",
			"role =3D \"nomad-cl=\r\nient\"\r\n"})),
			Result{Doc: []byte("role = \"nomad-client\"\r\n"), Ours: true, Kind: "mime part 1"}},
		{"mime_without_toml", []byte(mimeMessage(scriptPart, configPart)),
			Result{Kind: "mime without an application/toml part"}},
		{"mime_version_first", []byte("MIME-Version: 1.0\r\n" +
			"Content-Type: multipart/mixed; boundary=B\r\n\r\n" +
			"--B\r\nContent-Type: application/toml\r\n\r\n" + doc + "\r\n--B--\r\n"),
			Result{Doc: []byte(doc), Ours: true, Kind: "mime part 1"}},
		{"mime_single_toml", []byte("Content-Type: application/toml\r\n\r\n" + doc),
			Result{Doc: []byte(doc), Ours: true, Kind: "mime toml"}},
		{"mime_single_script", []byte("Content-Type: text/x-shellscript\r\n\r\n#!/bin/sh\n"),
			Result{Kind: "mime text/x-shellscript"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(tc.raw)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Decode (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	huge := bytes.Repeat([]byte("a"), MaxDecodedSize+1)
	gzipped := gzipBytes(t, []byte(doc))
	tests := []struct {
		name    string
		raw     []byte
		wantErr error
		// wantText lists phrases the message must contain: the size, the
		// limit or the fix.
		wantText []string
	}{
		{"raw_over_limit", bytes.Repeat([]byte("#"), MaxRawSize+1), ErrTooLarge,
			[]string{"16385 bytes", "16384"}},
		{"decompressed_over_limit", gzipBytes(t, huge), ErrTooLarge,
			[]string{"more than 262144 bytes"}},
		{"gzip_truncated", gzipped[:len(gzipped)-6], ErrMalformed,
			[]string{"decompress gzip", "unexpected EOF"}},
		{"gzip_header_only", gzipped[:5], ErrMalformed, []string{"read gzip header"}},
		{"gzip_of_gzip", gzipBytes(t, gzipped), ErrMalformed, []string{"gzip inside gzip"}},
		{"base64_gzip", []byte(base64.StdEncoding.EncodeToString(gzipped)), ErrDoubleEncoded,
			[]string{"fileb://", "pass the gzip bytes"}},
		{"base64_gzip_wrapped", []byte(wrap(base64.StdEncoding.EncodeToString(gzipped), 20)),
			ErrDoubleEncoded, []string{"base64-decodes"}},
		{"two_toml_parts", []byte(mimeMessage(tomlPart, scriptPart, tomlPart)), ErrMalformed,
			[]string{"more than one application/toml part", "mime part 1 and part 3"}},
		{"missing_boundary", []byte("Content-Type: multipart/mixed\r\n\r\nx"), ErrMalformed,
			[]string{"without a boundary"}},
		{"bad_content_type", []byte("Content-Type: ;;\r\n\r\nx"), ErrMalformed,
			[]string{"parse content-type"}},
		{"unknown_transfer_encoding", []byte(mimeMessage([2]string{
			"Content-Type: application/toml\r\nContent-Transfer-Encoding: x-uuencode", doc})),
			ErrMalformed, []string{`"x-uuencode"`, "use base64"}},
		{"bad_base64_part", []byte(mimeMessage([2]string{
			"Content-Type: application/toml\r\nContent-Transfer-Encoding: base64", "!!!!"})),
			ErrMalformed, []string{"decode application/toml body"}},
		{"unterminated_multipart", []byte("Content-Type: multipart/mixed; boundary=B\r\n\r\n" +
			"--B\r\nContent-Type: application/toml\r\n\r\nrole = 1\r\n"), ErrMalformed,
			[]string{"unexpected EOF"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(tc.raw)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Decode error = %v, want %v", err, tc.wantErr)
			}
			for _, text := range tc.wantText {
				if !strings.Contains(err.Error(), text) {
					t.Errorf("error %q does not contain %q", err, text)
				}
			}
			if diff := cmp.Diff(Result{}, got); diff != "" {
				t.Errorf("result on error (-want +got):\n%s", diff)
			}
		})
	}
}

// wrap breaks s into lines of width characters, as MIME and base64 tools do.
func wrap(s string, width int) string {
	var b strings.Builder
	for len(s) > width {
		b.WriteString(s[:width] + "\r\n")
		s = s[width:]
	}
	b.WriteString(s)
	return b.String()
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(doc))
	f.Add([]byte("#!/bin/sh\n"))
	f.Add(gzipBytes(f, []byte(doc)))
	f.Add(gzipBytes(f, []byte(mimeMessage(tomlPart))))
	f.Add([]byte(mimeMessage(scriptPart, tomlPart)))
	f.Add([]byte(base64.StdEncoding.EncodeToString(gzipBytes(f, []byte(doc)))))
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := Decode(raw)
		if len(got.Doc) > MaxDecodedSize {
			t.Fatalf("document of %d bytes is over the %d-byte limit", len(got.Doc), MaxDecodedSize)
		}
		if err != nil && (got.Ours || got.Doc != nil) {
			t.Fatalf("error %v came with a result %+v", err, got)
		}
		if got.Ours != (got.Doc != nil) {
			t.Fatalf("Ours = %v but document is %d bytes", got.Ours, len(got.Doc))
		}
	})
}
