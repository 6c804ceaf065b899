package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers the API reads besides Authorization: the two of a signed
// request, and Idempotency-Key.
const (
	// HeaderTimestamp carries the signing time in Unix seconds.
	HeaderTimestamp = "X-Tend-Timestamp"
	// HeaderSignature carries "sha256=" and the hex HMAC-SHA256 of
	// timestamp + "." + body.
	HeaderSignature = "X-Tend-Signature"
	// HeaderIdempotencyKey, if set, derives the ids of a request's events
	// that have none (see the package documentation).
	HeaderIdempotencyKey = "Idempotency-Key"
)

// SignatureTolerance is how far a signed request's timestamp may be from
// the server's clock, either way.
const SignatureTolerance = 300 * time.Second

// Errors of VerifySignature; match them with errors.Is.
var (
	// ErrSignatureMalformed means a header is not in the documented form.
	ErrSignatureMalformed = errors.New("malformed signature header")
	// ErrSignatureStale means the timestamp is more than
	// SignatureTolerance from the server's clock.
	ErrSignatureStale = errors.New("signature timestamp outside ±300 s of the server's clock")
	// ErrSignatureMismatch means no secret signs this timestamp and body
	// to this signature: a wrong secret, or a body altered after signing.
	ErrSignatureMismatch = errors.New("signature does not match the body")
)

// Sign signs a request body with secret at ts, as VerifySignature checks
// it: it returns the values of the X-Tend-Timestamp and X-Tend-Signature
// headers.
func Sign(secret string, ts time.Time, body []byte) (timestampHeader, signatureHeader string) {
	timestampHeader = strconv.FormatInt(ts.Unix(), 10)
	return timestampHeader, "sha256=" + hex.EncodeToString(mac(secret, timestampHeader, body))
}

func mac(secret, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// VerifySignature checks a signed request: timestamp is the X-Tend-Timestamp
// header (Unix seconds, within SignatureTolerance of now), signature the
// X-Tend-Signature header ("sha256=<hex>"), and the signature must be the
// HMAC-SHA256, under one of secrets, of timestamp + "." + body. Every secret
// is tried, in constant time. The error wraps ErrSignatureMalformed,
// ErrSignatureStale or ErrSignatureMismatch.
func VerifySignature(secrets []string, timestamp, signature string, body []byte, now time.Time) error {
	_, err := verifySignature(secrets, timestamp, signature, body, now)
	return err
}

// verifySignature is VerifySignature that also says which secret matched.
func verifySignature(secrets []string, timestamp, signature string, body []byte, now time.Time) (int, error) {
	if timestamp == "" || len(timestamp) > 12 || strings.TrimLeft(timestamp, "0123456789") != "" {
		return -1, fmt.Errorf("%w: %s %q: want Unix seconds, such as %d", ErrSignatureMalformed, HeaderTimestamp, clip(timestamp), now.Unix())
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return -1, fmt.Errorf("%w: %s %q: want Unix seconds", ErrSignatureMalformed, HeaderTimestamp, clip(timestamp))
	}
	hexSig, ok := strings.CutPrefix(signature, "sha256=")
	got, err := hex.DecodeString(hexSig)
	if !ok || err != nil || len(got) != sha256.Size {
		return -1, fmt.Errorf("%w: %s: want sha256= and 64 hex digits", ErrSignatureMalformed, HeaderSignature)
	}
	switch skew := now.Unix() - sec; {
	case skew > int64(SignatureTolerance/time.Second):
		return -1, fmt.Errorf("%w (%d s behind)", ErrSignatureStale, skew)
	case -skew > int64(SignatureTolerance/time.Second):
		return -1, fmt.Errorf("%w (%d s ahead)", ErrSignatureStale, -skew)
	}
	match := -1
	for i, secret := range secrets {
		if hmac.Equal(got, mac(secret, timestamp, body)) && match < 0 {
			match = i
		}
	}
	if match < 0 {
		return -1, ErrSignatureMismatch
	}
	return match, nil
}

// clip shortens a header value quoted in an error.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// handlerFunc is an authenticated handler, given the request body.
type handlerFunc func(w http.ResponseWriter, r *http.Request, body []byte)

// authed authenticates a request and reads its body (at most MaxBody)
// before calling h. A request without a valid credential gets a 401 and
// reaches no handler.
func (s *Server) authed(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := s.authenticate(w, r)
		if ok {
			h(w, r, body)
		}
	}
}

// isEvents reports whether r is a POST /v1/events, whose rejections count
// in tend_events_rejected_total.
func isEvents(r *http.Request) bool { return r.Pattern == "POST /v1/events" }

func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	info := infoOf(r)
	authz := r.Header.Get("Authorization")
	ts, sig := r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature)
	switch {
	case authz != "":
		info.cred = "bearer"
		scheme, token, _ := strings.Cut(authz, " ")
		token = strings.TrimSpace(token)
		if !strings.EqualFold(scheme, "Bearer") || token == "" {
			s.unauthorized(w, r, "malformed Authorization header: want Bearer <token>")
			return nil, false
		}
		h := sha256.Sum256([]byte(token))
		match := -1
		for i, t := range s.tokens {
			if subtle.ConstantTimeCompare(h[:], t[:]) == 1 && match < 0 {
				match = i
			}
		}
		if match < 0 {
			s.unauthorized(w, r, "invalid token: send "+s.tokensFrom())
			return nil, false
		}
		info.id = identity("bearer", []byte(token))
		return s.readBody(w, r)
	case ts != "" || sig != "":
		info.cred = "signed"
		if ts == "" || sig == "" {
			s.unauthorized(w, r, "a signed request needs both "+HeaderTimestamp+" and "+HeaderSignature)
			return nil, false
		}
		body, ok := s.readBody(w, r)
		if !ok {
			return nil, false
		}
		i, err := verifySignature(s.secrets, ts, sig, body, s.now())
		if err != nil {
			s.unauthorized(w, r, err.Error())
			return nil, false
		}
		info.id = identity("signed", []byte(s.secrets[i]))
		return body, true
	}
	s.unauthorized(w, r, "missing credential: send Authorization: Bearer <token>, or sign the request with "+HeaderTimestamp+" and "+HeaderSignature)
	return nil, false
}

func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, msg string) {
	if isEvents(r) {
		s.metrics.rejected.WithLabelValues(reasonUnauthorized).Inc()
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="tend"`)
	writeError(w, http.StatusUnauthorized, msg)
}

// readBody reads the whole body, at most MaxBody bytes: a larger one is a
// 413 that names the limit.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if enc := r.Header.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") {
		if isEvents(r) {
			s.metrics.rejected.WithLabelValues(reasonMalformed).Inc()
		}
		writeError(w, http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Encoding %s is not supported; send the body uncompressed", enc))
		return nil, false
	}
	limit := s.bodyLimit(r)
	if r.ContentLength > limit {
		s.tooLarge(w, r)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.tooLarge(w, r)
			return nil, false
		}
		if isEvents(r) {
			s.metrics.rejected.WithLabelValues(reasonMalformed).Inc()
		}
		writeError(w, http.StatusBadRequest, "read the body: "+err.Error())
		return nil, false
	}
	return body, true
}

func (s *Server) tooLarge(w http.ResponseWriter, r *http.Request) {
	if isEvents(r) {
		s.metrics.rejected.WithLabelValues(reasonTooLarge).Inc()
	}
	w.Header().Set("Connection", "close")
	limit := s.bodyLimit(r)
	if isCodec(r) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes (%s), the codec server's limit", limit, byteSize(limit)))
		return
	}
	writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes (%s), the limit; split the batch", limit, byteSize(limit)))
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
