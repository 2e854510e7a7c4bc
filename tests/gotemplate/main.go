// Renders each case of a template corpus the way Dataflow Runner's Go CLI did, so that the Rust engine can be
// compared with Go itself (crates/gotemplate/tests/go_differential.rs runs it).
//
// Usage: go run main.go corpus.json > results.json
//
// The corpus fixes everything the templates read from outside: "now" (RFC 3339) and the local zone ("zone",
// "offset" in seconds east of UTC) for nowWithFormat and timeWithFormat, "env" for systemEnv (the process
// environment is replaced by it) and "files" for base64File (written to a temporary directory that becomes the
// working directory). Each case is parsed as a template named "t.json" with the original's options and
// functions and executed with its "vars" as a map[string]interface{}. The output is one JSON object per case:
// {"out": base64 of the rendered bytes} or {"err": the error text}.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/ioutil"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"
)

type corpus struct {
	Now    string            `json:"now"`
	Zone   string            `json:"zone"`
	Offset int               `json:"offset"`
	Env    map[string]string `json:"env"`
	Files  map[string]string `json:"files"`
	Cases  []struct {
		Template string            `json:"template"`
		Vars     map[string]string `json:"vars"`
	} `json:"cases"`
}

type result struct {
	Out *string `json:"out,omitempty"`
	Err *string `json:"err,omitempty"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gotemplate corpus.json")
		os.Exit(2)
	}
	raw, err := ioutil.ReadFile(os.Args[1])
	check(err)
	var c corpus
	check(json.Unmarshal(raw, &c))

	now, err := time.Parse(time.RFC3339Nano, c.Now)
	check(err)
	time.Local = time.FixedZone(c.Zone, c.Offset)
	now = now.In(time.Local)

	os.Clearenv()
	for k, v := range c.Env {
		check(os.Setenv(k, v))
	}
	dir, err := ioutil.TempDir("", "gotemplate")
	check(err)
	defer os.RemoveAll(dir)
	for name, content := range c.Files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		check(os.MkdirAll(filepath.Dir(path), 0o755))
		check(ioutil.WriteFile(path, []byte(content), 0o644))
	}
	check(os.Chdir(dir))

	// The original's functions, with time.Now() replaced by the corpus clock.
	funcs := template.FuncMap{
		"nowWithFormat": func(format string) string {
			return now.Format(format)
		},
		"timeWithFormat": func(epoch, format string) (string, error) {
			e, err := strconv.ParseInt(epoch, 10, 64)
			if err != nil {
				return "", err
			}
			return time.Unix(e, 0).Format(format), nil
		},
		"systemEnv": func(env string) (string, error) {
			val, ok := os.LookupEnv(env)
			if !ok {
				return "", fmt.Errorf("environment variable %s not set", env)
			}
			return val, nil
		},
		"base64": func(src string) string {
			return base64.StdEncoding.EncodeToString([]byte(src))
		},
		"base64File": func(filename string) (string, error) {
			content, err := ioutil.ReadFile(filename)
			if err != nil {
				return "", err
			}
			return base64.StdEncoding.EncodeToString(content), nil
		},
	}

	results := make([]result, len(c.Cases))
	for i, tc := range c.Cases {
		results[i] = render(funcs, tc.Template, tc.Vars)
	}
	out, err := json.MarshalIndent(results, "", " ")
	check(err)
	os.Stdout.Write(out)
	os.Stdout.Write([]byte("\n"))
}

func render(funcs template.FuncMap, text string, vars map[string]string) (r result) {
	defer func() {
		if p := recover(); p != nil {
			msg := fmt.Sprintf("panic: %v", p)
			r = result{Err: &msg}
		}
	}()
	variables := make(map[string]interface{}, len(vars))
	for k, v := range vars {
		variables[k] = v
	}
	t, err := template.New("t.json").Funcs(funcs).Option("missingkey=error").Parse(text)
	if err != nil {
		msg := err.Error()
		return result{Err: &msg}
	}
	var filled strings.Builder
	if err := t.Execute(&filled, variables); err != nil {
		msg := err.Error()
		return result{Err: &msg}
	}
	out := base64.StdEncoding.EncodeToString([]byte(filled.String()))
	return result{Out: &out}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
