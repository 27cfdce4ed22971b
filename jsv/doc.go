// Package jsv reads and writes ServiceStack's JSV text format: JSON's shape
// with CSV's quoting, as ServiceStack clients send and expect it.
package jsv
