// Package tendfmt is the format of tend's files, as Prometheus's rulefmt is
// the format of its rule files: positions (Pos) and positioned errors
// (Error, ErrorList) that say file:line:col, and the YAML layer every file
// is read through (Parse, Node). Parse takes one document only, rejects
// anchors and aliases, and caps a file's size, nesting and node count
// (MaxFileSize, MaxDepth, MaxNodes), so that no input can hang a loader or
// exhaust its memory. Node reads values with strict keys and "did you
// mean" hints (Suggest, HintOf); Loc maps the bytes of a scalar's value
// back to the file, so an error inside an expression points at its column.
//
// It knows nothing of playbooks: engine/lang builds the language on it,
// and config reads tend.yaml with its errors.
package tendfmt
