package scanner

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/scanner/vulndb"
)

// Packages reads back the inventory record stores, and says when a scan
// has none or an unreadable one.
func TestPackages(t *testing.T) {
	pkgs := []vulndb.Package{{Ecosystem: "Debian:12", Name: "openssl", Version: "3.0.11-1~deb12u1", DisplayName: "libssl3", DisplayVersion: "3.0.11-1~deb12u1"}}
	inv, err := json.Marshal(pkgs) // as record writes it
	if err != nil {
		t.Fatal(err)
	}
	got, err := Packages(metadata.Scan{Inventory: string(inv)})
	if err != nil || !reflect.DeepEqual(got, pkgs) {
		t.Errorf("Packages = %+v, %v; want %+v", got, err, pkgs)
	}
	if got, err := Packages(metadata.Scan{}); err != nil || len(got) != 0 {
		t.Errorf("Packages of a scan without inventory = %v, %v", got, err)
	}
	if _, err := Packages(metadata.Scan{Inventory: "{not json"}); err == nil {
		t.Error("Packages of a broken inventory: no error")
	}
}
