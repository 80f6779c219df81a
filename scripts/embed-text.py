"""embed-text.py SYMBOL INPUT OUTPUT — write a C file defining
`const char *const SYMBOL`, a NUL-terminated copy of INPUT's text, for data
compiled into libpostkit."""
import sys

symbol, src, dst = sys.argv[1:4]
with open(src, "rb") as f:
    data = f.read() + b"\0"
rows = [",".join(str(b) for b in data[i:i + 20]) for i in range(0, len(data), 20)]
with open(dst, "w") as f:
    f.write("/* Generated from %s by scripts/embed-text.py; do not edit. */\n" % src.split("/")[-1])
    f.write("static const unsigned char bytes[] = {\n%s\n};\n" % ",\n".join(rows))
    f.write("extern const char *const %s;\n" % symbol)
    f.write("const char *const %s = (const char *)bytes;\n" % symbol)
