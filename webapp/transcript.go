package webapp

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"callscribe"
	"callscribe/pipeline"
	"callscribe/privacy"
	"callscribe/redact"
)

// turn is a segment as the transcript page shows it.
type turn struct {
	N       int // from 1: the anchor #seg-N and the API's segment number
	Speaker string
	Channel int
	Colour  string
	At      string // m:ss from the start
	Text    string
	History []callscribe.Rectification
}

// historyRow is a correction in the transcript's history: the turn it changed, by its
// number on the page (0 when its id names none).
type historyRow struct {
	callscribe.Rectification
	Turn int
}

type transcriptPage struct {
	Call       callscribe.Call
	Transcript *callscribe.Transcript
	Turns      []turn
	Duration   string
	Consent    *callscribe.Consent
	Owner      callscribe.User
	Formats    []string
	History    []historyRow
	Who        map[string]string // the corrections' actors, named
	// Redactions is what was redacted before the transcript was stored, by type in the
	// redact package's order: counts, never values.
	Redactions []redaction
	// Edit is the segment whose correction form is open (?edit=N), 0 for none: one form
	// on the page, not one per segment, keeps an hour's transcript light.
	Edit int
}

// redaction is one type's count of entities redacted; Type names its catalogue entry,
// transcript.redaction.<type>.
type redaction struct {
	Type string
	N    int
}

// transcriptPage is a call's transcript: turns by speaker with timestamps, the summary,
// the audio's deletion receipt, the consent it was made under, downloads, corrections.
// The read is audited before the page is sent, as the API audits its reads.
func (s *Server) transcriptPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	ctx := r.Context()
	c, err := s.loadCall(ctx, v, r.PathValue("id"))
	if err != nil {
		return err
	}
	owner, err := s.cfg.Readers.Store.UserInOrg(ctx, v.Account.OrgID, c.OwnerID)
	if err != nil {
		return err
	}
	page := transcriptPage{Call: c, Owner: owner, Formats: []string{"txt", "srt", "vtt", "json", "docx"}}
	page.Edit, _ = strconv.Atoi(r.URL.Query().Get("edit"))
	if c.DurationMS != nil {
		page.Duration = duration(*c.DurationMS)
	}
	if s.cfg.Readers.Consents != nil {
		history, err := s.cfg.Readers.Consents.History(ctx, c.OwnerID)
		if err != nil {
			return err
		}
		// The consent the call was made under: the grant of transcription in force when the
		// call arrived.
		for i, cs := range history {
			if cs.Purpose == callscribe.PurposeTranscription && !cs.GrantedAt.After(c.CreatedAt) &&
				(cs.WithdrawnAt == nil || cs.WithdrawnAt.After(c.CreatedAt)) {
				page.Consent = &history[i]
				break
			}
		}
	}
	if c.Status == callscribe.CallCompleted {
		t, err := s.cfg.Readers.Store.Transcript(ctx, c.ID)
		if err == nil {
			err = s.audit(ctx, v, callscribe.AuditEntry{Action: privacy.ActionTranscriptRead, ObjectType: "call",
				ObjectID: c.ID.String(), SubjectID: c.OwnerID, Detail: map[string]any{"via": "web"}})
		}
		if err != nil {
			return err
		}
		rects, err := s.cfg.Readers.Store.Rectifications(ctx, c.OwnerID)
		if err != nil {
			return err
		}
		bySeg := map[string][]callscribe.Rectification{}
		var actors []string
		for _, x := range rects {
			if x.CallID != nil && *x.CallID == c.ID {
				bySeg[x.ObjectID] = append(bySeg[x.ObjectID], x)
				_, n, _ := strings.Cut(x.ObjectID, "/")
				turn, _ := strconv.Atoi(n)
				page.History = append(page.History, historyRow{x, turn})
				actors = append(actors, x.Actor)
			}
		}
		if page.Who, err = s.actorNames(ctx, v, actors); err != nil {
			return err
		}
		page.Transcript = &t
		for i, sg := range t.Segments {
			n := i + 1
			page.Turns = append(page.Turns, turn{N: n, Speaker: sg.Speaker, Channel: sg.Channel, Colour: channelColour(sg.Channel),
				At: duration(sg.StartMS), Text: sg.Text, History: bySeg[c.ID.String()+"/"+strconv.Itoa(n)]})
		}
		for _, typ := range redact.Types {
			if n := t.Redactions[string(typ)]; n > 0 {
				page.Redactions = append(page.Redactions, redaction{string(typ), n})
			}
		}
	}
	cw := compressed(w, r)
	s.render(cw, r, v, http.StatusOK, "transcript", page)
	return cw.Close()
}

// compressed gzips the response when the browser accepts it: an hour's transcript is
// some 400 KB of HTML and a tenth of it compressed. Only the transcript page and the
// downloads are compressed; the session cookie is SameSite=Lax, so no other site can
// have a signed-in browser fetch them as a subresource and measure their size.
func compressed(w http.ResponseWriter, r *http.Request) closingWriter {
	if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") || r.Method == http.MethodHead {
		return plainWriter{w}
	}
	return &gzipWriter{ResponseWriter: w}
}

type closingWriter interface {
	http.ResponseWriter
	Close() error
}

type plainWriter struct{ http.ResponseWriter }

func (plainWriter) Close() error { return nil }

type gzipWriter struct {
	http.ResponseWriter
	z *gzip.Writer
}

func (g *gzipWriter) WriteHeader(status int) {
	h := g.Header()
	h.Del("Content-Length")
	h.Set("Content-Encoding", "gzip")
	h.Add("Vary", "Accept-Encoding")
	g.ResponseWriter.WriteHeader(status)
}

func (g *gzipWriter) Write(b []byte) (int, error) {
	if g.z == nil {
		g.z, _ = gzip.NewWriterLevel(g.ResponseWriter, gzip.BestSpeed) // the level cannot be wrong
	}
	return g.z.Write(b)
}

// Close ends the compressed stream; render writes the whole page in one Write.
func (g *gzipWriter) Close() error {
	if g.z == nil {
		return nil
	}
	return g.z.Close()
}

// correct rectifies one segment through the API's path (privacy.Corrections): its
// text, its speaker, or both; a field left as it was is not sent.
func (s *Server) correct(w http.ResponseWriter, r *http.Request, v *visit) error {
	ctx := r.Context()
	c, err := s.loadCall(ctx, v, r.PathValue("id"))
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		return callscribe.Errorf(callscribe.ENOTFOUND, "no such segment")
	}
	if c.Status != callscribe.CallCompleted {
		return callscribe.Errorf(callscribe.ECONFLICT, "this call has no transcript to correct")
	}
	t, err := s.cfg.Readers.Store.Transcript(ctx, c.ID)
	if err != nil {
		return err
	}
	if n > len(t.Segments) {
		return callscribe.Errorf(callscribe.ENOTFOUND, "no such segment")
	}
	old := t.Segments[n-1]
	var text, speaker *string
	if nt := strings.TrimSpace(r.PostFormValue("text")); nt != "" && nt != old.Text {
		text = &nt
	}
	if ns := strings.TrimSpace(r.PostFormValue("speaker")); ns != "" && ns != old.Speaker {
		speaker = &ns
	}
	done := "transcript_unchanged"
	if text != nil || speaker != nil {
		if _, err := s.cfg.Readers.Editor.EditSegment(ctx, c.ID, n-1, text, speaker, userActor(v)); err != nil {
			return err
		}
		done = "transcript_corrected"
	}
	http.Redirect(w, r, fmt.Sprintf("/calls/%s?done=%s#seg-%d", c.ID, done, n), http.StatusSeeOther)
	return nil
}

// download serves the transcript as a file: txt, srt, vtt, json or docx. Audited as a
// read, with the format.
func (s *Server) download(w http.ResponseWriter, r *http.Request, v *visit) error {
	ctx := r.Context()
	format := r.PathValue("format")
	switch format {
	case "txt", "srt", "vtt", "json", "docx":
	default:
		return callscribe.Errorf(callscribe.ENOTFOUND, "no such format")
	}
	c, err := s.loadCall(ctx, v, r.PathValue("id"))
	if err != nil {
		return err
	}
	if c.Status != callscribe.CallCompleted {
		return callscribe.Errorf(callscribe.ENOTFOUND, "this call has no transcript")
	}
	t, err := s.cfg.Readers.Store.Transcript(ctx, c.ID)
	if err == nil {
		err = s.audit(ctx, v, callscribe.AuditEntry{Action: privacy.ActionTranscriptRead, ObjectType: "call",
			ObjectID: c.ID.String(), SubjectID: c.OwnerID, Detail: map[string]any{"via": "web.download", "format": format}})
	}
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	ctype := "text/plain; charset=utf-8"
	switch format {
	case "txt":
		pipeline.WriteText(&buf, t)
	case "srt":
		pipeline.WriteSubRip(&buf, t)
		ctype = "application/x-subrip; charset=utf-8"
	case "vtt":
		pipeline.WriteWebVTT(&buf, t)
		ctype = "text/vtt; charset=utf-8"
	case "json":
		if t.Segments == nil {
			t.Segments = []callscribe.Segment{}
		}
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		if err := enc.Encode(t); err != nil {
			return err
		}
		ctype = "application/json; charset=utf-8"
	case "docx":
		if err := writeDocx(&buf, transcriptTitle(v.Lang, c), t); err != nil {
			return err
		}
		ctype = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	}
	var cw http.ResponseWriter = w
	if format != "docx" { // a docx is a zip already
		cw = compressed(w, r)
	}
	cw.Header().Set("Content-Type", ctype)
	cw.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="call-%s.%s"`, c.ID, format))
	cw.WriteHeader(http.StatusOK)
	_, _ = buf.WriteTo(cw)
	if c, ok := cw.(closingWriter); ok {
		return c.Close()
	}
	return nil
}

func transcriptTitle(lang string, c callscribe.Call) string {
	return translate(lang, "transcript.doc_title", formatTime(lang, c.CreatedAt))
}

// writeDocx writes the transcript as a minimal Office Open XML document (what office
// users open): a title, the summary, and a paragraph per turn, "[m:ss] speaker: text".
// Only the four parts a WordprocessingML package needs are written; every text is
// XML-escaped.
func writeDocx(w io.Writer, title string, t callscribe.Transcript) error {
	z := zip.NewWriter(w)
	put := func(name, body string) error {
		f, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: time.Unix(0, 0).UTC()})
		if err != nil {
			return err
		}
		_, err = io.WriteString(f, body)
		return err
	}
	const ct = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`
	const rels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`
	const docRels = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"></Relationships>`
	var doc strings.Builder
	doc.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>`)
	para := func(text string, bold bool) {
		doc.WriteString(`<w:p><w:r>`)
		if bold {
			doc.WriteString(`<w:rPr><w:b/></w:rPr>`)
		}
		doc.WriteString(`<w:t xml:space="preserve">`)
		_ = xml.EscapeText(&doc, []byte(text))
		doc.WriteString(`</w:t></w:r></w:p>`)
	}
	para(title, true)
	if t.Summary != nil && t.Summary.Text != "" {
		for _, l := range strings.Split(t.Summary.Text, "\n") {
			para(l, false)
		}
	}
	for _, sg := range t.Segments {
		para(fmt.Sprintf("[%s] %s: %s", duration(sg.StartMS), sg.Speaker, sg.Text), false)
	}
	doc.WriteString(`<w:sectPr/></w:body></w:document>`)
	for _, p := range []struct{ name, body string }{
		{"[Content_Types].xml", ct}, {"_rels/.rels", rels}, {"word/_rels/document.xml.rels", docRels}, {"word/document.xml", doc.String()},
	} {
		if err := put(p.name, p.body); err != nil {
			return err
		}
	}
	return z.Close()
}
