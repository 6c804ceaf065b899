// Package links makes and checks the signed links tend puts in customer
// mail: a survey's score links and the one-click unsubscribe link. Links
// need no login. A link's token carries what it acts on (the customer, the
// run, the step and its occurrence, and a survey's kind and score) with an
// HMAC-SHA256 over it and the installation (the base URL the links point
// at), keyed with the installation's link secret: a changed, cut or
// foreign token does not verify.
//
// The activities make links (Signer.URL) and the HTTP API checks them
// (Signer.Verify); both are given the same Config.
package links

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/tend-cs/tend/engine/lang"
)

// Paths of the link endpoints on the API listener; the token follows.
const (
	SurveyPath      = "/survey/"
	UnsubscribePath = "/unsubscribe/"
)

// Kinds of link.
const (
	KindSurvey      = "survey"
	KindUnsubscribe = "unsubscribe"
)

// MinSecretLength is the fewest characters a link secret may have.
const MinSecretLength = 16

// MaxTokenLength bounds the tokens Verify reads.
const MaxTokenLength = 2048

// ErrInvalid is the error of a token that does not verify.
var ErrInvalid = errors.New("the link is invalid")

// Config is where links point and the key that signs them.
type Config struct {
	// BaseURL is the public address of the API listener, such as
	// https://tend.vendor.example: links are BaseURL + SurveyPath + token.
	BaseURL string
	// Secret keys the links' HMAC.
	Secret string
}

// Check says what is wrong with a Config, or nil.
func (c Config) Check() error {
	u, err := url.Parse(c.BaseURL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("base_url %q must be an http or https URL, such as https://tend.vendor.example", c.BaseURL)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return fmt.Errorf("base_url %q must have no query, fragment or user", c.BaseURL)
	case utf8.RuneCountInString(c.Secret) < MinSecretLength:
		return fmt.Errorf("secret has %d characters; a link secret needs at least %d", utf8.RuneCountInString(c.Secret), MinSecretLength)
	}
	return nil
}

// Target is what a link acts on.
type Target struct {
	Kind       string `json:"k"` // KindSurvey or KindUnsubscribe
	Customer   string `json:"c"`
	Run        string `json:"r"`
	Step       string `json:"s"`
	Occurrence int    `json:"o"`
	Survey     string `json:"v,omitempty"` // a survey's kind: nps or csat
	Score      int    `json:"n,omitempty"` // a survey link's score
}

// Signer makes and verifies the links of one installation.
type Signer struct {
	base   string
	secret []byte
}

// New checks c and returns its Signer.
func New(c Config) (*Signer, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	return &Signer{base: strings.TrimRight(c.BaseURL, "/"), secret: []byte(c.Secret)}, nil
}

// BaseURL is the address links point at, without a trailing slash.
func (s *Signer) BaseURL() string { return s.base }

var b64 = base64.RawURLEncoding

func (s *Signer) mac(payload []byte) []byte {
	h := hmac.New(sha256.New, s.secret)
	h.Write([]byte("tend link v1\x00"))
	h.Write([]byte(s.base))
	h.Write([]byte{0})
	h.Write(payload)
	return h.Sum(nil)
}

// Token is the signed token of t.
func (s *Signer) Token(t Target) string {
	payload, _ := json.Marshal(t) // strings and ints: cannot fail
	return b64.EncodeToString(payload) + "." + b64.EncodeToString(s.mac(payload))
}

// URL is the link to t: the survey or unsubscribe endpoint with its token.
func (s *Signer) URL(t Target) string {
	path := SurveyPath
	if t.Kind == KindUnsubscribe {
		path = UnsubscribePath
	}
	return s.base + path + s.Token(t)
}

// Verify checks a token and returns its target. Any token this Signer did
// not make, whole and unchanged, is ErrInvalid.
func (s *Signer) Verify(token string) (Target, error) {
	if len(token) > MaxTokenLength {
		return Target{}, ErrInvalid
	}
	p, m, ok := strings.Cut(token, ".")
	if !ok {
		return Target{}, ErrInvalid
	}
	payload, err1 := b64.DecodeString(p)
	sum, err2 := b64.DecodeString(m)
	// The decoder skips \r and \n: only the encoding the signer wrote is
	// the token, so that one link has one spelling.
	if err1 != nil || err2 != nil || b64.EncodeToString(payload) != p || b64.EncodeToString(sum) != m ||
		!hmac.Equal(sum, s.mac(payload)) {
		return Target{}, ErrInvalid
	}
	var t Target
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil || t.Customer == "" || t.Run == "" || t.Step == "" || t.Occurrence < 1 {
		return Target{}, ErrInvalid
	}
	switch t.Kind {
	case KindSurvey:
		lo, hi, ok := lang.SurveyScale(t.Survey)
		if !ok || t.Score < lo || t.Score > hi {
			return Target{}, ErrInvalid
		}
	case KindUnsubscribe:
	default:
		return Target{}, ErrInvalid
	}
	return t, nil
}

// ScoreLink is one score of a survey and its link.
type ScoreLink struct {
	Score int
	URL   string
}

// Survey returns the links of every score of a survey of kind (nps: 0 to
// 10, csat: 1 to 5) sent by a run's step.
func (s *Signer) Survey(customer, run, step string, occ int, kind string) ([]ScoreLink, error) {
	lo, hi, ok := lang.SurveyScale(kind)
	if !ok {
		return nil, fmt.Errorf("unknown survey kind %q; valid kinds are %s", kind, strings.Join(lang.SurveyKinds, ", "))
	}
	var out []ScoreLink
	for n := lo; n <= hi; n++ {
		out = append(out, ScoreLink{Score: n, URL: s.URL(Target{Kind: KindSurvey, Customer: customer, Run: run, Step: step,
			Occurrence: occ, Survey: kind, Score: n})})
	}
	return out, nil
}

// Unsubscribe returns the one-click unsubscribe link of a message a run's
// step sent.
func (s *Signer) Unsubscribe(customer, run, step string, occ int) string {
	return s.URL(Target{Kind: KindUnsubscribe, Customer: customer, Run: run, Step: step, Occurrence: occ})
}
