package secret_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/auth/secret"
)

func Example() {
	dir, err := os.MkdirTemp("", "berth")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sealer, err := secret.LoadOrCreateMasterKey(filepath.Join(dir, "master.key"))
	if err != nil {
		log.Fatal(err)
	}

	key, err := secret.NewAccessKey() // show key.Secret to its user once
	if err != nil {
		log.Fatal(err)
	}
	sealed, err := sealer.SealAccessKey(key) // store in metadata.AccessKey.SealedSecret
	if err != nil {
		log.Fatal(err)
	}

	// Checking a SigV4 signature later:
	opened, err := sealer.OpenAccessKey(key.ID, sealed)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(opened.Secret == key.Secret, secret.ValidAccessKeyID(opened.ID))
	fmt.Println(len(fmt.Sprint(opened)) < 60) // printing shows the ID only
	// Output:
	// true true
	// true
}
