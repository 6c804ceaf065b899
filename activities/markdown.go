package activities

import (
	"bufio"
	"bytes"
	"fmt"
	stdhtml "html"
	"strings"

	gomail "github.com/wneessen/go-mail"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
)

// mailBody is what a message says, twice: as plain text for the
// text/plain part, and as an HTML fragment for the text/html part (setBody
// wraps it in a document). Blocks such as survey links are added to both.
type mailBody struct {
	Text string
	HTML string // empty: the message is text/plain only
}

// markdown is CommonMark without raw HTML: a template's <tags> are left
// out of the HTML, and dangerous link schemes (javascript:) are dropped.
// Interpolated values reach it escaped (engine.MarkdownValue), so they
// read as text in both parts.
var markdown = goldmark.New()

// markdownBody renders a Markdown body as HTML, and as plain text without
// markup: no ** or #, links as "text (url)", lists as "- " and "1. ".
func markdownBody(src string) (mailBody, error) {
	source := []byte(src)
	doc := markdown.Parser().Parse(text.NewReader(source))
	var h bytes.Buffer
	if err := markdown.Renderer().Render(&h, source, doc); err != nil {
		return mailBody{}, fmt.Errorf("render the body as HTML: %w", err)
	}
	return mailBody{Text: plainBlocks(source, doc, false) + "\n", HTML: h.String()}, nil
}

// setBody puts b into m: the text part, then the HTML one as its
// alternative, which mail clients prefer.
func setBody(m *gomail.Msg, b mailBody) {
	m.SetBodyString(gomail.TypeTextPlain, b.Text)
	if b.HTML != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, htmlDocument(b.HTML))
	}
}

func htmlDocument(fragment string) string {
	return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="margin:0;padding:24px;font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;font-size:15px;line-height:1.5;color:#1f2328">
<div style="max-width:600px">
` + fragment + `</div>
</body></html>
`
}

// plainBlocks renders the blocks in n, separated by a blank line, or by a
// line break in a tight list.
func plainBlocks(src []byte, n ast.Node, tight bool) string {
	var parts []string
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		if s := plainBlock(src, c); s != "" {
			parts = append(parts, s)
		}
	}
	sep := "\n\n"
	if tight {
		sep = "\n"
	}
	return strings.Join(parts, sep)
}

func plainBlock(src []byte, n ast.Node) string {
	switch n := n.(type) {
	case *ast.Paragraph, *ast.TextBlock, *ast.Heading:
		return plainInline(src, n)
	case *ast.ThematicBreak:
		return "----"
	case *ast.CodeBlock, *ast.FencedCodeBlock:
		var b strings.Builder
		lines := n.Lines()
		for i := 0; i < lines.Len(); i++ {
			seg := lines.At(i)
			b.WriteString("    " + string(seg.Value(src)))
		}
		return strings.TrimRight(b.String(), "\n")
	case *ast.Blockquote:
		return indent(plainBlocks(src, n, false), "> ", "> ")
	case *ast.List:
		var items []string
		i := n.Start
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			marker := "- "
			if n.IsOrdered() {
				marker = fmt.Sprintf("%d. ", i)
				i++
			}
			items = append(items, indent(plainBlocks(src, c, n.IsTight), marker, strings.Repeat(" ", len(marker))))
		}
		if n.IsTight {
			return strings.Join(items, "\n")
		}
		return strings.Join(items, "\n\n")
	case *ast.HTMLBlock:
		return "" // left out of the HTML too
	}
	return plainBlocks(src, n, false)
}

// indent puts first before the first line of s and rest before the others
// that are not empty.
func indent(s, first, rest string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		switch {
		case i == 0:
			lines[i] = first + l
		case l != "":
			lines[i] = rest + l
		}
	}
	return strings.Join(lines, "\n")
}

// plainInline renders a block's inline content as text: emphasis and code
// markers go, backslash escapes and entities are resolved as the HTML
// renderer resolves them, and a link keeps its address after its text.
func plainInline(src []byte, n ast.Node) string {
	var b strings.Builder
	var links []int // where the text of each open link starts
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		switch c := c.(type) {
		case *ast.Text:
			if !entering {
				break
			}
			if c.IsRaw() {
				b.Write(c.Segment.Value(src))
			} else {
				b.WriteString(unescape(c.Segment.Value(src)))
			}
			if c.HardLineBreak() || c.SoftLineBreak() {
				b.WriteByte('\n')
			}
		case *ast.String:
			if entering {
				b.Write(c.Value)
			}
		case *ast.CodeSpan:
			if entering {
				for t := c.FirstChild(); t != nil; t = t.NextSibling() {
					if s, ok := t.(*ast.Text); ok {
						b.Write(s.Segment.Value(src))
					}
				}
			}
			return ast.WalkSkipChildren, nil
		case *ast.RawHTML:
			return ast.WalkSkipChildren, nil
		case *ast.AutoLink:
			if entering {
				b.Write(c.Label(src))
			}
		case *ast.Link:
			if entering {
				links = append(links, b.Len())
				break
			}
			start := links[len(links)-1]
			links = links[:len(links)-1]
			label, dest := b.String()[start:], string(c.Destination)
			if dest != "" && dest != label && dest != "mailto:"+label {
				b.WriteString(" (" + dest + ")")
			}
		}
		return ast.WalkContinue, nil
	})
	return strings.TrimRight(b.String(), "\n")
}

// unescape resolves a text segment's backslash escapes and entity
// references exactly as goldmark's HTML writer does, then undoes its HTML
// escaping.
func unescape(seg []byte) string {
	if !bytes.ContainsAny(seg, `\&`) {
		return string(seg)
	}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	html.DefaultWriter.Write(w, seg)
	_ = w.Flush()
	return stdhtml.UnescapeString(buf.String())
}
