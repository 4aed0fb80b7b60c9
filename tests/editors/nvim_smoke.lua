-- Headless Neovim (0.7 and 0.11) driving the real `hedge lsp` through the plugin's own setup{}.
--   HEDGE_BIN=target/debug/hedge HEDGE_REPO=$PWD \
--     nvim --headless --clean -u NONE -c 'luafile tests/editors/nvim_smoke.lua'
-- (tests/editors/run_nvim.sh does this.) Prints one JSON line with what it saw; exit 0 when
-- every check passed, 1 with "nvim_smoke: FAILED: ..." on stderr otherwise.
local TIMEOUT = 20000 -- ms, per wait

local out = { version = tostring(vim.version().major) .. "." .. vim.version().minor .. "." .. vim.version().patch }

local function finish(ok, why)
  out.ok = ok
  io.stdout:write(vim.fn.json_encode(out), "\n")
  if not ok then
    io.stderr:write("nvim_smoke: FAILED (nvim " .. out.version .. "): " .. tostring(why) .. "\n")
  end
  vim.cmd(ok and "qall!" or "cquit 1")
end

local function check(cond, msg)
  if not cond then
    error({ hedge_check = msg }, 0)
  end
end

local function wait(what, pred)
  local ok = vim.wait(TIMEOUT, pred, 20)
  check(ok, "timed out after " .. TIMEOUT / 1000 .. " s waiting for " .. what)
end

local function diags(buf)
  local ds = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    table.insert(ds, {
      code = d.code,
      source = d.source,
      lnum = d.lnum,
      col = d.col,
      end_lnum = d.end_lnum,
      end_col = d.end_col,
      message = d.message,
    })
  end
  table.sort(ds, function(a, b)
    return a.lnum < b.lnum or (a.lnum == b.lnum and a.col < b.col)
  end)
  return ds
end

local function same_diag(d, code, lnum, col, end_col)
  return d.code == code and d.source == "hedge" and d.lnum == lnum and d.col == col and d.end_lnum == lnum and d.end_col == end_col
end

local function copy(from, to)
  local ok, err = vim.loop.fs_copyfile(from, to)
  check(ok, "copy " .. from .. ": " .. tostring(err))
end

local function main()
  local bin = os.getenv("HEDGE_BIN")
  local repo = os.getenv("HEDGE_REPO")
  check(bin and bin ~= "", "HEDGE_BIN is not set (the hedge binary)")
  check(repo and repo ~= "", "HEDGE_REPO is not set (the repository root)")
  check(vim.fn.executable(bin) == 1, "HEDGE_BIN=" .. bin .. " is not executable")

  -- Keep what the plugin, Neovim (deprecations) and the server (window/showMessage) say.
  out.messages = {}
  vim.notify = function(msg, level)
    table.insert(out.messages, { msg = tostring(msg), level = level or vim.log.levels.INFO })
  end
  local show_message = vim.lsp.handlers["window/showMessage"]
  vim.lsp.handlers["window/showMessage"] = function(err, result, ctx, config)
    local levels = vim.log.levels
    local level = ({ levels.ERROR, levels.WARN, levels.INFO, levels.DEBUG })[result and result.type or 3]
    table.insert(out.messages, { msg = "server: " .. tostring(result and result.message), level = level })
    return show_message(err, result, ctx, config)
  end

  vim.opt.runtimepath:prepend(repo .. "/editors/nvim")
  vim.cmd("filetype on")

  local dir = vim.fn.tempname()
  vim.fn.mkdir(dir, "p")
  local fixtures = repo .. "/tests/fixtures/docs/"
  copy(fixtures .. "curie.md", dir .. "/curie.md")
  copy(fixtures .. "curie.md.logprobs.json", dir .. "/curie.md.logprobs.json")

  -- The plugin, as a user sets it up.
  local hedge = require("hedge")
  hedge.setup({ cmd = { bin, "lsp" } })

  vim.cmd("edit " .. vim.fn.fnameescape(dir .. "/curie.md"))
  local buf = vim.api.nvim_get_current_buf()
  check(vim.bo[buf].filetype == "markdown", "filetype is " .. vim.bo[buf].filetype)
  wait("the hedge client to attach", function()
    return #hedge.clients(buf) > 0
  end)
  local client = hedge.clients(buf)[1]
  out.client_offset_encoding = client.offset_encoding

  -- 1. Diagnostics at the right places.
  wait("2 diagnostics on curie.md", function()
    return #vim.diagnostic.get(buf) == 2
  end)
  local ds = diags(buf)
  out.diagnostics_after_open = ds
  check(same_diag(ds[1], "low-probability", 4, 34, 38), "first diagnostic is not low-probability at 4:34-38: " .. vim.inspect(ds[1]))
  check(same_diag(ds[2], "uncertain-citation", 4, 83, 107), "second diagnostic is not uncertain-citation at 4:83-107: " .. vim.inspect(ds[2]))

  -- 2. Hover.
  local res = vim.lsp.buf_request_sync(buf, "textDocument/hover", {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    position = { line = 4, character = 36 },
  }, TIMEOUT)
  local hover = res and res[client.id] and res[client.id].result
  check(type(hover) == "table" and type(hover.contents) == "table", "no hover at 4:36: " .. vim.inspect(res))
  out.hover = hover.contents.value
  local want = "The model gave **1867** 3% and preferred “1868” (41%)"
  check(type(out.hover) == "string" and out.hover:find(want, 1, true), "hover lacks " .. want .. ": " .. vim.inspect(out.hover))

  -- 3. :HedgeToggleHeatmap (didChangeConfiguration) paints "67" (3%) as hedgeUnlikely.
  vim.cmd("HedgeToggleHeatmap")
  check(hedge.config.settings.heatmap == true, "heatmap setting not on after :HedgeToggleHeatmap")
  if vim.lsp.semantic_tokens then
    wait("semantic token hedgeUnlikely at 4:36", function()
      for _, t in ipairs(vim.lsp.semantic_tokens.get_at_pos(buf, 4, 36) or {}) do
        if t.type == "hedgeUnlikely" then
          out.heatmap = { type = t.type, start_col = t.start_col, end_col = t.end_col }
          return true
        end
      end
      return false
    end)
  else
    wait("heatmap extmark HedgeUnlikely at 4:36", function()
      local marks = vim.api.nvim_buf_get_extmarks(buf, hedge.heatmap_ns, { 4, 0 }, { 4, -1 }, { details = true })
      for _, m in ipairs(marks) do
        local col, det = m[3], m[4]
        if det.hl_group == "HedgeUnlikely" and col <= 36 and 36 < det.end_col then
          out.heatmap = { type = det.hl_group, start_col = col, end_col = det.end_col }
          return true
        end
      end
      return false
    end)
  end

  -- 4. An edit that removes a squiggle: "1867" -> "1870".
  vim.api.nvim_buf_set_text(buf, 4, 34, 4, 38, { "1870" })
  wait("the low-probability diagnostic to go after the edit", function()
    local d = diags(buf)
    return #d == 1 and same_diag(d[1], "uncertain-citation", 4, 83, 107)
  end)
  out.diagnostics_after_edit = diags(buf)

  -- 5. :HedgeReanalyse re-reads the sidecar and publishes again; the edit stays honoured.
  local published = 0
  vim.api.nvim_create_autocmd("DiagnosticChanged", {
    buffer = buf,
    callback = function()
      published = published + 1
    end,
  })
  vim.cmd("HedgeReanalyse")
  wait("diagnostics published after :HedgeReanalyse", function()
    return published > 0
  end)
  local d = diags(buf)
  check(#d == 1 and same_diag(d[1], "uncertain-citation", 4, 83, 107), "after :HedgeReanalyse: " .. vim.inspect(d))

  -- 6. The shipped example, when it is there.
  local example = repo .. "/examples/literature-review.md"
  if vim.loop.fs_stat(example) and vim.loop.fs_stat(example .. ".logprobs.json") then
    copy(example, dir .. "/literature-review.md")
    copy(example .. ".logprobs.json", dir .. "/literature-review.md.logprobs.json")
    vim.cmd("edit " .. vim.fn.fnameescape(dir .. "/literature-review.md"))
    local ex = vim.api.nvim_get_current_buf()
    wait("diagnostics on examples/literature-review.md", function()
      return #vim.diagnostic.get(ex) > 0
    end)
    out.example_diagnostics = #vim.diagnostic.get(ex)
    vim.cmd("buffer " .. buf)
  else
    out.example_diagnostics = vim.NIL
  end

  -- 7. :HedgeDismissAll clears the file's findings and remembers it in the state file.
  vim.cmd("HedgeDismissAll")
  wait("no diagnostics after :HedgeDismissAll", function()
    return #vim.diagnostic.get(buf) == 0
  end)
  local state = os.getenv("HEDGE_STATE_DIR")
  if state and state ~= "" then
    check(vim.loop.fs_stat(state .. "/dismissed.json"), "no " .. state .. "/dismissed.json after :HedgeDismissAll")
  end

  for _, m in ipairs(out.messages) do
    check(m.level < vim.log.levels.WARN, "a warning was shown: " .. m.msg)
  end

  for _, c in ipairs(hedge.clients()) do
    vim.lsp.stop_client(c.id)
  end
  vim.wait(TIMEOUT, function()
    return #hedge.clients() == 0
  end, 20)
end

local ok, err = xpcall(main, function(e)
  if type(e) == "table" and e.hedge_check then
    return e.hedge_check
  end
  return debug.traceback(tostring(e), 2)
end)
finish(ok, err)
