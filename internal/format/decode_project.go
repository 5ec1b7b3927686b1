package format

// decodeProjected is decode keeping only what p needs of doc: the keys of
// objects that p lists, each decoded as its own projection says; the
// other values are read past (and checked) without being built. A value
// where p expects an object but finds something else is decoded whole, so
// that jq fails on it the same way.
func decodeProjected(doc []byte, p *projection) (any, error) {
	d := decoder{b: doc}
	d.space()
	v, err := d.projected(p, 0)
	if err != nil {
		return nil, err
	}
	d.space()
	if d.i != len(d.b) {
		return nil, d.errorf("unexpected %q after the value", d.b[d.i])
	}
	return v, nil
}

func (d *decoder) projected(p *projection, depth int) (any, error) {
	if p.whole || d.i >= len(d.b) || d.b[d.i] != '{' {
		return d.value(depth)
	}
	if depth > maxDepth {
		return nil, d.errorf("nested too deep")
	}
	return d.objectOf(p, depth)
}

// objectOf reads an object: with p nil all of it, else the keys p lists,
// each as its projection says, reading past the others.
func (d *decoder) objectOf(p *projection, depth int) (any, error) {
	d.i++ // {
	size := 8
	if p != nil {
		size = len(p.keys)
	}
	m := make(map[string]any, size)
	d.space()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		return m, nil
	}
	for {
		d.space()
		if d.i >= len(d.b) {
			return nil, errEnd
		}
		if d.b[d.i] != '"' {
			return nil, d.errorf("expected a key string")
		}
		k, err := d.string()
		if err != nil {
			return nil, err
		}
		d.space()
		if d.i >= len(d.b) || d.b[d.i] != ':' {
			return nil, d.errorf("expected ':' after a key")
		}
		d.i++
		d.space()
		switch c := p.lookup(k); {
		case p == nil:
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			m[k] = v
		case c != nil:
			v, err := d.projected(c, depth+1)
			if err != nil {
				return nil, err
			}
			m[k] = v
		default:
			if err := d.skip(depth + 1); err != nil {
				return nil, err
			}
		}
		d.space()
		if d.i >= len(d.b) {
			return nil, errEnd
		}
		switch d.b[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			return m, nil
		default:
			return nil, d.errorf("expected ',' or '}'")
		}
	}
}

// skip reads past one value, checking it as decode would, building nothing.
func (d *decoder) skip(depth int) error {
	if d.i >= len(d.b) {
		return errEnd
	}
	if depth > maxDepth {
		return d.errorf("nested too deep")
	}
	switch c := d.b[d.i]; {
	case c == '{' || c == '[':
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		d.i++
		d.space()
		if d.i < len(d.b) && d.b[d.i] == end {
			d.i++
			return nil
		}
		for {
			d.space()
			if end == '}' {
				if d.i >= len(d.b) || d.b[d.i] != '"' {
					return d.errorf("expected a key string")
				}
				if err := d.skipString(); err != nil {
					return err
				}
				d.space()
				if d.i >= len(d.b) || d.b[d.i] != ':' {
					return d.errorf("expected ':' after a key")
				}
				d.i++
				d.space()
			}
			if err := d.skip(depth + 1); err != nil {
				return err
			}
			d.space()
			if d.i >= len(d.b) {
				return errEnd
			}
			switch d.b[d.i] {
			case ',':
				d.i++
			case end:
				d.i++
				return nil
			default:
				return d.errorf("expected ',' or '%c'", end)
			}
		}
	case c == '"':
		return d.skipString()
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return d.skipNumber()
	default:
		return d.errorf("unexpected %q", c)
	}
}

// skipString reads past a string literal, checking its escapes.
func (d *decoder) skipString() error {
	d.i++ // "
	for d.i < len(d.b) {
		switch c := d.b[d.i]; {
		case c == '"':
			d.i++
			return nil
		case c < 0x20:
			return d.errorf("control character in a string")
		case c == '\\':
			if d.i+1 >= len(d.b) {
				return errEnd
			}
			switch d.b[d.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.i += 2
			case 'u':
				d.i += 2
				if _, ok := d.hex4(); !ok {
					return d.errorf("bad \\u escape")
				}
			default:
				return d.errorf("bad escape \\%c", d.b[d.i+1])
			}
		default:
			d.i++
		}
	}
	return errEnd
}
