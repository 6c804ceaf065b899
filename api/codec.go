package api

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// Routes of the codec server: Temporal's remote codec protocol, which the
// Temporal UI and CLI call as <endpoint>/encode and <endpoint>/decode with
// a JSON body {"payloads": [...]}.
const (
	CodecPath    = "/codec"     // the endpoint to give the UI (TEMPORAL_CODEC_ENDPOINT ends with it)
	DevCodecPath = "/codec/dev" // tend dev's embedded UI only: loopback and its origin, no token
)

// CodecMaxBody is the least body the codec routes accept, whatever
// Options.MaxBody: a payload may be up to Temporal's 2 MiB blob limit,
// which base64 in the JSON body makes a third larger.
const CodecMaxBody = 4 << 20

// MaxCodecPayloads is the most payloads one codec request may carry. The
// UI and CLI send the few payloads of an event or a page of them; the
// bound keeps a body of many empty payloads from making an answer many
// times its size.
const MaxCodecPayloads = 10000

// corsAllowHeaders are the request headers the UI sends to a codec server.
const corsAllowHeaders = "Authorization, Content-Type, X-Namespace"

func isCodec(r *http.Request) bool { return strings.HasPrefix(r.Pattern, "POST "+CodecPath+"/") }

// bodyLimit is the largest body read for r.
func (s *Server) bodyLimit(r *http.Request) int64 {
	if isCodec(r) {
		return max(s.maxBody, CodecMaxBody)
	}
	return s.maxBody
}

// routeCodec adds the codec server when Options.Codec is set: POST
// /codec/encode and /codec/decode for holders of an API token, with CORS
// for Options.CodecOrigin only, and, for tend dev, /codec/dev/... for
// the embedded UI.
func (s *Server) routeCodec(mux *http.ServeMux) {
	if s.opts.Codec == nil {
		return
	}
	origins := []string{}
	if s.opts.CodecOrigin != "" {
		origins = append(origins, s.opts.CodecOrigin)
	}
	for _, op := range []string{"encode", "decode"} {
		serve := s.codecOp(op)
		mux.HandleFunc("POST "+CodecPath+"/"+op, s.cors(origins, s.bearerOnly(serve)))
		mux.HandleFunc("OPTIONS "+CodecPath+"/"+op, s.cors(origins, nil))
		if len(s.opts.DevCodecOrigins) > 0 {
			mux.HandleFunc("POST "+DevCodecPath+"/"+op, s.cors(s.opts.DevCodecOrigins, s.loopbackOnly(serve)))
			mux.HandleFunc("OPTIONS "+DevCodecPath+"/"+op, s.cors(s.opts.DevCodecOrigins, nil))
		}
	}
}

// codecOp serves one operation of Temporal's remote codec protocol, op
// "encode" or "decode": a body {"payloads": [...]} in protojson, answered
// in the same shape. Its refusals are JSON errors, as the rest of the API's.
func (s *Server) codecOp(op string) handlerFunc {
	run := s.opts.Codec.Decode
	if op == "encode" {
		run = s.opts.Codec.Encode
	}
	return func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Cache-Control", "no-store")
		var in commonpb.Payloads
		if err := protojson.Unmarshal(body, &in); err != nil {
			writeError(w, http.StatusBadRequest, `malformed body: want {"payloads": [...]}, Temporal's payloads in JSON: `+err.Error())
			return
		}
		if n := len(in.Payloads); n > MaxCodecPayloads {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("%d payloads in one request; the codec server takes at most %d, so send them in smaller batches", n, MaxCodecPayloads))
			return
		}
		out, err := run(in.Payloads)
		if err != nil {
			writeError(w, http.StatusBadRequest, op+": "+err.Error())
			return
		}
		b, err := protojson.Marshal(&commonpb.Payloads{Payloads: out})
		if err != nil {
			writeError(w, http.StatusInternalServerError, op+": write the answer: "+err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}
}

// cors answers the CORS headers for a browser on one of origins, never
// for another. A request from another origin (a preflight, or a POST a
// browser sends without one) is a 403 that names it, so that a page
// elsewhere gets nothing decoded even when its browser would not show
// the answer. Requests without an Origin (the CLI, scripts) pass.
func (s *Server) cors(origins []string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		allowed := origin != "" && slices.Contains(origins, origin)
		if allowed {
			hd.Set("Access-Control-Allow-Origin", origin)
			hd.Set("Access-Control-Allow-Credentials", "true")
		}
		if h != nil && (allowed || origin == "") {
			h(w, r)
			return
		}
		if !allowed {
			why := "codec.ui_origin in tend.yaml is not set"
			if len(origins) > 0 {
				why = "it is not " + strings.Join(origins, " or ")
			}
			who := "origin " + clip(origin)
			if origin == "" {
				who = "a preflight without an Origin header"
			}
			writeError(w, http.StatusForbidden, who+" may not call the codec server: "+why)
			return
		}
		hd.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		hd.Set("Access-Control-Allow-Headers", corsAllowHeaders)
		hd.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
	}
}

// bearerOnly authenticates with an API token: a signing secret is a
// system's key for sending events, and decodes nothing.
func (s *Server) bearerOnly(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			msg := "missing credential: the codec server needs Authorization: Bearer <token>, "
			if r.Header.Get(HeaderSignature) != "" {
				msg = "the codec server takes no signed requests (api.signing_secrets are for sending events): it needs Authorization: Bearer <token>, "
			}
			s.unauthorized(w, r, msg+s.tokensFrom())
			return
		}
		s.authed(h)(w, r)
	}
}

// loopbackOnly serves tend dev's embedded UI without a token: the caller
// must be on this machine and its Origin one of Options.DevCodecOrigins.
func (s *Server) loopbackOnly(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		ip := net.ParseIP(host)
		if err != nil || ip == nil || !ip.IsLoopback() {
			writeError(w, http.StatusForbidden, "the dev codec route answers this machine only; use "+CodecPath+" with a token")
			return
		}
		if o := r.Header.Get("Origin"); !slices.Contains(s.opts.DevCodecOrigins, o) {
			from := "not origin " + clip(o)
			if o == "" {
				from = "and this request has no Origin header"
			}
			writeError(w, http.StatusForbidden, "the dev codec route answers the embedded Web UI only ("+strings.Join(s.opts.DevCodecOrigins, ", ")+"), "+from)
			return
		}
		info := infoOf(r)
		info.cred = "dev-ui"
		body, ok := s.readBody(w, r)
		if ok {
			h(w, r, body)
		}
	}
}
