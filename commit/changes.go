package commit

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// change is one parsed --change instruction, applied to the config.
type change func(*imgspecv1.ImageConfig)

// parseChange parses one Dockerfile instruction as "podman commit
// --change" accepts it: "INSTRUCTION VALUE" (or "INSTRUCTION=VALUE" when
// there is no space), the instruction in any case. Errors name the input.
func parseChange(s string) (change, error) {
	instr, value, ok := strings.Cut(strings.TrimSpace(s), " ")
	if !ok {
		instr, value, ok = strings.Cut(s, "=")
	}
	value = strings.TrimSpace(value)
	if !ok {
		return nil, fmt.Errorf("invalid change %q: must be INSTRUCTION VALUE", s)
	}
	c, err := parseInstruction(strings.ToUpper(strings.TrimSpace(instr)), value)
	if err != nil {
		return nil, fmt.Errorf("invalid change %q: %w", s, err)
	}
	return c, nil
}

func parseInstruction(instr, value string) (change, error) {
	switch instr {
	case "CMD", "ENTRYPOINT":
		argv := execForm(value)
		if instr == "CMD" {
			return func(c *imgspecv1.ImageConfig) { c.Cmd = argv }, nil
		}
		return func(c *imgspecv1.ImageConfig) { c.Entrypoint = argv }, nil
	case "ENV":
		pairs, err := keyValues(value, true)
		if err != nil {
			return nil, err
		}
		return func(c *imgspecv1.ImageConfig) {
			for _, p := range pairs {
				c.Env = setEnv(c.Env, p[0], p[1])
			}
		}, nil
	case "LABEL":
		pairs, err := keyValues(value, false)
		if err != nil {
			return nil, err
		}
		return func(c *imgspecv1.ImageConfig) {
			if c.Labels == nil {
				c.Labels = map[string]string{}
			}
			for _, p := range pairs {
				c.Labels[p[0]] = p[1]
			}
		}, nil
	case "EXPOSE":
		ports, err := exposedPorts(value)
		if err != nil {
			return nil, err
		}
		return func(c *imgspecv1.ImageConfig) {
			if c.ExposedPorts == nil {
				c.ExposedPorts = map[string]struct{}{}
			}
			for _, p := range ports {
				c.ExposedPorts[p] = struct{}{}
			}
		}, nil
	case "VOLUME":
		vols := jsonArray(value)
		if vols == nil {
			vols = strings.Fields(value)
		}
		if len(vols) == 0 || slices.Contains(vols, "") {
			return nil, fmt.Errorf("VOLUME needs one or more non-empty paths")
		}
		return func(c *imgspecv1.ImageConfig) {
			if c.Volumes == nil {
				c.Volumes = map[string]struct{}{}
			}
			for _, v := range vols {
				c.Volumes[v] = struct{}{}
			}
		}, nil
	case "USER", "WORKDIR", "STOPSIGNAL":
		if value == "" {
			return nil, fmt.Errorf("%s needs a value", instr)
		}
		switch instr {
		case "USER":
			return func(c *imgspecv1.ImageConfig) { c.User = value }, nil
		case "STOPSIGNAL":
			return func(c *imgspecv1.ImageConfig) { c.StopSignal = value }, nil
		}
		// As in a Dockerfile, a relative WORKDIR is relative to the
		// previous one.
		return func(c *imgspecv1.ImageConfig) {
			if path.IsAbs(value) {
				c.WorkingDir = path.Clean(value)
			} else {
				c.WorkingDir = path.Join("/", c.WorkingDir, value)
			}
		}, nil
	}
	return nil, fmt.Errorf("unsupported instruction %q (supported: CMD, ENTRYPOINT, ENV, LABEL, EXPOSE, USER, WORKDIR, VOLUME, STOPSIGNAL)", instr)
}

// execForm is a JSON array as is, anything else the shell form
// ["/bin/sh", "-c", VALUE]; an empty value clears the setting.
func execForm(value string) []string {
	if argv := jsonArray(value); argv != nil {
		return argv
	}
	if value == "" {
		return []string{}
	}
	return []string{"/bin/sh", "-c", value}
}

// jsonArray returns value decoded as a JSON array of strings, or nil.
func jsonArray(value string) []string {
	if !strings.HasPrefix(value, "[") {
		return nil
	}
	var a []string
	if json.Unmarshal([]byte(value), &a) != nil || a == nil {
		return nil
	}
	return a
}

// keyValues parses "K=V K2="V 2"" (quotes group, backslash escapes) and,
// when legacy is set (ENV), the old form "KEY VALUE WITH SPACES".
func keyValues(value string, legacy bool) ([][2]string, error) {
	words, err := splitWords(value)
	if err != nil {
		return nil, err
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("needs KEY=VALUE")
	}
	if legacy && !strings.Contains(words[0], "=") {
		key, rest, _ := strings.Cut(value, " ")
		return [][2]string{{key, strings.TrimSpace(rest)}}, nil
	}
	var pairs [][2]string
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not KEY=VALUE", w)
		}
		pairs = append(pairs, [2]string{k, v})
	}
	return pairs, nil
}

// splitWords splits on unquoted white space, removing the quotes ("..."
// with backslash escapes, '...' literal) and backslashes outside them.
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case unicode.IsSpace(r):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 || escaped {
		return nil, fmt.Errorf("unterminated quote or escape in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// exposedPorts parses "80 443/tcp 53/udp" into the config's "PORT/PROTO"
// keys.
func exposedPorts(value string) ([]string, error) {
	fields := strings.Fields(value)
	if len(fields) == 0 {
		return nil, fmt.Errorf("EXPOSE needs PORT[/PROTO]")
	}
	var ports []string
	for _, f := range fields {
		port, proto, _ := strings.Cut(f, "/")
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("EXPOSE port %q is not a number from 1 to 65535", port)
		}
		switch proto = strings.ToLower(proto); proto {
		case "":
			proto = "tcp"
		case "tcp", "udp", "sctp":
		default:
			return nil, fmt.Errorf("EXPOSE protocol %q must be tcp, udp or sctp", proto)
		}
		ports = append(ports, fmt.Sprintf("%d/%s", n, proto))
	}
	return ports, nil
}

// setEnv replaces KEY's entry in env in place, or appends one.
func setEnv(env []string, key, value string) []string {
	env = slices.Clone(env)
	for i, e := range env {
		if k, _, _ := strings.Cut(e, "="); k == key {
			env[i] = key + "=" + value
			return env
		}
	}
	return append(env, key+"="+value)
}
