package sim

import (
	"os"
	"testing"
	"time"

	"github.com/tend-cs/tend/load"
)

// BenchmarkTelco12Months simulates every customer of IBM's Telco churn
// sample (7,043 rows) over 12 months of daily checks with the telco example
// playbooks: what `tend simulate --customers` does, minus output.
func BenchmarkTelco12Months(b *testing.B) {
	const csvPath = "../examples/telco/telco-customer-churn.csv"
	f, err := os.Open(csvPath)
	if err != nil {
		b.Skipf("telco data not found beside the repo: %v", err)
	}
	defer f.Close()
	set, errs, err := load.Set("../examples/telco/playbooks")
	if err != nil || len(errs) > 0 {
		b.Fatal(err, errs)
	}
	customers, err := ReadCSV(csvPath, f, set.Schema, "customerID")
	if err != nil {
		b.Fatal(err)
	}
	in := Input{Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), Customers: customers}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := Run(set, in)
		if err != nil {
			b.Fatal(err)
		}
		if res.Customers != 7043 || len(res.Records) == 0 {
			b.Fatalf("simulated %d customers, %d records", res.Customers, len(res.Records))
		}
		b.ReportMetric(float64(len(res.Records)), "records")
	}
}
