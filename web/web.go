// Package web holds the admin dashboard's static files, embedded in the binary.
package web
