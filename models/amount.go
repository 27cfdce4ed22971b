package models

import (
	"errors"
	"fmt"
	"math"
	"math/big"

	"github.com/shopspring/decimal"
)

// Micros is an exact usage amount or price in millionths of its unit. Both
// databases sum 64-bit integers exactly, so rollups never meet a float.
type Micros int64

// AmountScale is how many decimal places an amount may carry.
const AmountScale = 6

var (
	errTooPrecise = fmt.Errorf("has more than %d decimal places", AmountScale)
	errTooLarge   = errors.New("is too large")
)

// MicrosOf converts a decimal exactly, refusing values that would lose digits.
func MicrosOf(d decimal.Decimal) (Micros, error) {
	scaled := d.Shift(AmountScale)
	if !scaled.Equal(scaled.Truncate(0)) {
		return 0, errTooPrecise
	}
	bi := scaled.BigInt()
	if !bi.IsInt64() || bi.Cmp(big.NewInt(math.MaxInt64/1000)) > 0 || bi.Cmp(big.NewInt(math.MinInt64/1000)) < 0 {
		// Keep three orders of magnitude of headroom for sums in rollups.
		return 0, errTooLarge
	}
	return Micros(bi.Int64()), nil
}

// Decimal is the amount at its natural scale: no trailing zeros after the point.
func (m Micros) Decimal() decimal.Decimal {
	v, exp := int64(m), int32(-AmountScale)
	for exp < 0 && v%10 == 0 {
		v /= 10
		exp++
	}
	return decimal.New(v, exp)
}

func (m Micros) String() string { return m.Decimal().String() }
