// Package jsv reads and writes ServiceStack's JSV text format: JSON's shape
// with CSV's quoting, as ServiceStack clients send and expect it.
//
// Writing follows ServiceStack.Text's JsvWriter: compact (no whitespace), UTF-8
// without BOM; a string is quoted only when it contains one of " : , { } [ ]
// \r \n, quotes inside are doubled and nothing else is escaped; the empty
// string is written "" and null values are left out; integers are plain,
// decimals keep their scale (1.50) and never use exponent form; booleans are
// True and False; lists are [a,b] and objects {name:value,...}.
//
// The Append functions are the fast path: response types write themselves
// field by field with them (see Appender), without reflection. Marshal is the
// general, reflection-based writer for everything else.
//
// Reading (Unmarshal) follows ServiceStack's reader rules: no whitespace is
// skipped except around property names and around a whole list; an empty
// value is null and "" is the empty string; property names match
// case-insensitively; numbers may be quoted and may carry thousands
// separators; JSON-looking input is read too.
//
// Two things JSV itself cannot carry, whichever side writes it: a list whose
// only element is null or blank (it reads back as an empty list), and
// leading or trailing spaces in property names.
package jsv
