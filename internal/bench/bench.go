// Package bench holds the benchmarks behind docs/benchmarks.md for the
// health and signal stages. It has no product code: the benchmarks drive
// internal/health and internal/lifecycle against stand-ins on loopback.
package bench
