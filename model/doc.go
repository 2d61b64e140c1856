// Package model holds the value types shared by every layer of the engine:
// items (encoded attribute values), rules and scores. It imports nothing of
// the project, so that the server, the store and the jobs can all depend on
// it without depending on each other.
package model
