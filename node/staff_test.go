package node

import (
	"reflect"
	"testing"

	"github.com/tend-cs/tend/config"
	"github.com/tend-cs/tend/engine"
)

// tend.yaml's staff: reaches the slot ledger whole, notice included.
func TestStaff(t *testing.T) {
	c := &config.Config{Staff: map[string]config.StaffMember{
		"jo@vendor.example": {Timezone: "Europe/Berlin", Hours: "08:00-16:00", Workdays: []string{"mon", "tue"}, Seats: 2, Notice: "4h"},
	}}
	want := engine.Staff{"jo@vendor.example": {Timezone: "Europe/Berlin", Hours: "08:00-16:00", Workdays: []string{"mon", "tue"}, Seats: 2, Notice: "4h"}}
	if got := Staff(c); !reflect.DeepEqual(got, want) {
		t.Errorf("Staff = %+v, want %+v", got, want)
	}
	if got := Staff(&config.Config{}); got != nil {
		t.Errorf("no staff: %+v", got)
	}
}
