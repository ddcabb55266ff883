// Command testprog is the launcher tests' container program, built static
// into a FROM scratch image. Its first argument says what to do.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: testprog exit N | print | alloc | sleep | serve ADDR TEXT | get URL")
		os.Exit(2)
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "exit": // exit N
		n, _ := strconv.Atoi(args[0])
		os.Exit(n)
	case "print": // lines on both streams, in a known order
		fmt.Println("out 1")
		fmt.Fprintln(os.Stderr, "err 1")
		fmt.Println("out 2")
		fmt.Print("no newline")
	case "alloc": // grow until the memory limit kills us
		var keep [][]byte
		for {
			b := make([]byte, 1<<20)
			for i := range b {
				b[i] = 1
			}
			keep = append(keep, b)
		}
	case "sleep": // until SIGTERM
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		fmt.Println("sleeping")
		<-c
		fmt.Println("terminated")
	case "serve": // serve ADDR TEXT
		fmt.Println("serving on", args[0])
		err := http.ListenAndServe(args[0], http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, args[1])
		}))
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	case "get": // get URL ($VAR expands), retrying while nothing listens
		url := os.ExpandEnv(args[0])
		for i := 0; ; i++ {
			resp, err := http.Get(url)
			if err != nil {
				if i < 100 {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			body, _ := io.ReadAll(resp.Body)
			fmt.Println(strings.TrimSpace(string(body)))
			if resp.StatusCode != 200 {
				fmt.Fprintln(os.Stderr, resp.Status)
				os.Exit(1)
			}
			return
		}
	case "env": // env NAME: print the variable's value
		fmt.Println(os.Getenv(args[0]))
	case "nap": // nap DURATION [CODE], then exit CODE (0)
		d, _ := time.ParseDuration(args[0])
		time.Sleep(d)
		fmt.Println("napped", d)
		if len(args) > 1 {
			n, _ := strconv.Atoi(args[1])
			os.Exit(n)
		}
	case "exit-unless-attempt": // exit-unless-attempt N CODE: exit 0 on Batch attempt N, else CODE
		if os.Getenv("AWS_BATCH_JOB_ATTEMPT") == args[0] {
			return
		}
		n, _ := strconv.Atoi(args[1])
		os.Exit(n)
	default:
		fmt.Fprintln(os.Stderr, "unknown command", os.Args[1])
		os.Exit(2)
	}
}
