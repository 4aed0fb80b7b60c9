-- hedge for Neovim: starts `hedge lsp` for Markdown, text and JSON buffers, colours the
-- probability heatmap and adds :HedgeDismissAll, :HedgeReanalyse, :HedgeToggleHeatmap and
-- :HedgeDraft.
--
--   require("hedge").setup({
--     cmd = { "hedge", "lsp" },                          -- the server command
--     settings = { heatmap = false, thresholds = { claimP = 0.3 } },  -- the `hedge` section
--     filetypes = { "markdown", "text", "json", "jsonl" },
--   })
--
-- Works on Neovim 0.7 (vim.lsp.start_client + a FileType autocmd), 0.8-0.10 (vim.lsp.start)
-- and 0.11+ (vim.lsp.config + vim.lsp.enable). Neovim before 0.9 has no semantic tokens:
-- there the plugin requests them itself and paints them with extmarks.

local M = {}

local api = vim.api
local has09 = vim.fn.has("nvim-0.9") == 1
local has011 = vim.fn.has("nvim-0.11") == 1

--- The server's semantic token types (its legend) and the highlight group of each.
M.token_types = { "hedgeLikely", "hedgePlausible", "hedgeUnlikely", "hedgeRare" }
M.groups = {
  hedgeLikely = "HedgeLikely", -- p >= 50%
  hedgePlausible = "HedgePlausible", -- 10-50%
  hedgeUnlikely = "HedgeUnlikely", -- 1-10%
  hedgeRare = "HedgeRare", -- < 1%, or below the listed alternatives
}

-- Backgrounds only, so the text keeps the colour scheme's foreground and stays readable.
local palette = {
  dark = {
    HedgeLikely = { bg = "#1d3526", ctermbg = 22 },
    HedgePlausible = { bg = "#4a4118", ctermbg = 58 },
    HedgeUnlikely = { bg = "#6a2626", ctermbg = 52 },
    HedgeRare = { bg = "#6b2170", ctermbg = 53, bold = true },
  },
  light = {
    HedgeLikely = { bg = "#e2f4e5", ctermbg = 194 },
    HedgePlausible = { bg = "#fff0b3", ctermbg = 229 },
    HedgeUnlikely = { bg = "#ffcccc", ctermbg = 224 },
    HedgeRare = { bg = "#f2c4f7", ctermbg = 225, bold = true },
  },
}

local defaults = {
  cmd = { "hedge", "lsp" },
  filetypes = { "markdown", "text", "json", "jsonl" },
  -- The `hedge` settings section, camelCase as in the README: heatmap, minCoverage,
  -- vocabSize, thresholds = {...}, disable = {...}, severity = {...}, sidecarSuffixes,
  -- maxDocumentBytes, maxDiagnostics, noteMissingTrace.
  settings = {},
  -- The chat endpoint :HedgeDraft asks, sent to the server at start only (it takes an endpoint
  -- from nowhere else): { endpoint = "http://127.0.0.1:8080/v1", model = nil, apiKeyEnv = nil,
  -- system = nil, maxTokens = nil, temperature = nil, seed = nil, timeout = nil }. false: none.
  draft = false,
  -- Files that mark the workspace root (else the document's directory).
  root_markers = { "hedge.toml", ".git" },
  -- Define the Hedge* highlight groups (set false to define them yourself).
  highlights = true,
  -- Passed on to the LSP client.
  on_attach = nil,
  capabilities = nil,
}

M.config = nil
M.heatmap_ns = api.nvim_create_namespace("hedge_heatmap")

local augroup = nil
local legacy_clients = {} -- root dir -> client id (Neovim 0.7)
local painted = {} -- bufnr -> client id, where the plugin paints the heatmap itself (< 0.9)

local function notify(msg, level)
  vim.notify("hedge: " .. msg, level or vim.log.levels.WARN)
end

-- client:request() from 0.11 on, client.request() before.
local function client_call(client, method, ...)
  if has011 then
    return client[method](client, ...)
  end
  return client[method](...)
end

--- The running hedge clients, of one buffer or all.
function M.clients(bufnr)
  if vim.lsp.get_clients then
    return vim.lsp.get_clients({ name = "hedge", bufnr = bufnr })
  end
  local out = {}
  local all = bufnr and vim.lsp.buf_get_clients(bufnr) or vim.lsp.get_active_clients()
  for _, c in pairs(all) do
    if c.name == "hedge" then
      table.insert(out, c)
    end
  end
  return out
end

-- The settings as sent to the server. Neovim encodes an empty Lua table as a JSON array, so
-- empty objects are left out (absent means defaults); nil when nothing is set.
local function wire_settings()
  local out = vim.deepcopy(M.config.settings or {})
  for _, k in ipairs({ "thresholds", "severity" }) do
    if type(out[k]) == "table" and next(out[k]) == nil then
      out[k] = nil
    end
  end
  if next(out) == nil then
    return nil
  end
  return out
end

-- What the server gets at start: the settings, plus the user's `draft` endpoint.
local function init_options()
  local out = wire_settings()
  if type(M.config.draft) == "table" then
    out = out or {}
    out.draft = vim.deepcopy(M.config.draft)
  end
  return out
end

-- What the server reads as workspace settings: without `scoring`, which it takes only at start
-- (from init_options) and warns about anywhere else.
local function settings_table()
  local w = wire_settings()
  if w then
    w.scoring = nil
    if next(w) == nil then
      w = nil
    end
  end
  return w and { hedge = w } or {}
end

-- The buffer's file, or nil for scratch buffers, terminals, URLs and the like.
local function file_of(bufnr)
  if not api.nvim_buf_is_valid(bufnr) or vim.bo[bufnr].buftype ~= "" then
    return nil
  end
  local name = api.nvim_buf_get_name(bufnr)
  if name == "" or name:match("^%a[%w+.-]*://") then
    return nil
  end
  return name
end

local function find_root(file)
  local dir = vim.fn.fnamemodify(file, ":p:h")
  local d = dir
  while true do
    for _, marker in ipairs(M.config.root_markers or {}) do
      if vim.loop.fs_stat(d .. "/" .. marker) then
        return d
      end
    end
    local parent = vim.fn.fnamemodify(d, ":h")
    if parent == d then
      return dir
    end
    d = parent
  end
end

---------------------------------------------------------------------------------------------
-- Highlights

local function define_highlights()
  if not M.config.highlights then
    return
  end
  local colours = vim.o.background == "light" and palette.light or palette.dark
  for group, spec in pairs(colours) do
    local s = vim.deepcopy(spec)
    s.default = true
    api.nvim_set_hl(0, group, s)
  end
  for _, t in ipairs(M.token_types) do
    if has09 then
      api.nvim_set_hl(0, "@lsp.type." .. t, { link = M.groups[t], default = true })
    end
    -- The name used by semantic-token plugins from before 0.9.
    api.nvim_set_hl(0, "LspSemantic_" .. t, { link = M.groups[t], default = true })
  end
end

---------------------------------------------------------------------------------------------
-- Heatmap painter for Neovim < 0.9 (no built-in semantic tokens)

local function byte_col(line, index, encoding)
  if encoding == "utf-8" then
    return math.min(index, #line)
  end
  local ok, b = pcall(vim.str_byteindex, line, index, encoding ~= "utf-32")
  return ok and b or #line
end

local function paint(bufnr)
  local client = vim.lsp.get_client_by_id(painted[bufnr] or -1)
  if not client or not api.nvim_buf_is_loaded(bufnr) then
    return
  end
  if not (M.config.settings or {}).heatmap then
    api.nvim_buf_clear_namespace(bufnr, M.heatmap_ns, 0, -1)
    return
  end
  local tick = api.nvim_buf_get_changedtick(bufnr)
  local params = { textDocument = { uri = vim.uri_from_bufnr(bufnr) } }
  client_call(client, "request", "textDocument/semanticTokens/full", params, function(err, result)
    if err or type(result) ~= "table" or not api.nvim_buf_is_loaded(bufnr) then
      return
    end
    -- A stale answer is dropped: the re-analysis after the edit publishes again, and that
    -- repaints.
    if api.nvim_buf_get_changedtick(bufnr) ~= tick then
      return
    end
    local provider = (client.server_capabilities or {}).semanticTokensProvider or {}
    local legend = (provider.legend or {}).tokenTypes or M.token_types
    local encoding = client.offset_encoding or "utf-16"
    api.nvim_buf_clear_namespace(bufnr, M.heatmap_ns, 0, -1)
    local data = result.data or {}
    local line, col, text = 0, 0, nil
    for i = 1, #data - 4, 5 do
      if data[i] > 0 then
        line, col, text = line + data[i], data[i + 1], nil
      else
        col = col + data[i + 1]
      end
      text = text or api.nvim_buf_get_lines(bufnr, line, line + 1, false)[1]
      local group = M.groups[legend[data[i + 3] + 1]]
      if text and group then
        local s = byte_col(text, col, encoding)
        local e = byte_col(text, col + data[i + 2], encoding)
        pcall(api.nvim_buf_set_extmark, bufnr, M.heatmap_ns, line, s, { end_col = e, hl_group = group })
      end
    end
  end, bufnr)
end

local function refresh_heatmap()
  if has09 then
    for _, client in ipairs(M.clients()) do
      for bufnr in pairs(client.attached_buffers or {}) do
        pcall(vim.lsp.semantic_tokens.force_refresh, bufnr)
      end
    end
  else
    for bufnr in pairs(painted) do
      paint(bufnr)
    end
  end
end

---------------------------------------------------------------------------------------------
-- Starting and attaching

local function on_attach(client, bufnr)
  if not has09 then
    painted[bufnr] = client.id
    paint(bufnr)
  end
  if M.config.on_attach then
    M.config.on_attach(client, bufnr)
  end
end

local function client_config(root)
  return {
    name = "hedge",
    cmd = M.config.cmd,
    root_dir = root,
    init_options = init_options(),
    settings = settings_table(),
    capabilities = M.config.capabilities,
    on_attach = on_attach,
  }
end

-- Neovim 0.7-0.10: called from the FileType autocmd.
local function attach(bufnr)
  local file = file_of(bufnr)
  if not file then
    return
  end
  local root = find_root(file)
  if vim.lsp.start then -- 0.8+: reuses a client with the same name and root
    vim.lsp.start(client_config(root), { bufnr = bufnr })
    return
  end
  local id = legacy_clients[root]
  if id and (vim.lsp.client_is_stopped(id) or not vim.lsp.get_client_by_id(id)) then
    id = nil
  end
  if not id then
    id = vim.lsp.start_client(client_config(root))
    if not id then
      return
    end
    legacy_clients[root] = id
  end
  vim.lsp.buf_attach_client(bufnr, id)
end

---------------------------------------------------------------------------------------------
-- Commands

local function execute(command, bufnr)
  if bufnr == nil or bufnr == 0 then
    bufnr = api.nvim_get_current_buf()
  end
  local client = M.clients(bufnr)[1]
  if not client then
    notify("no hedge language server is attached to this buffer")
    return
  end
  local params = { command = command, arguments = { vim.uri_from_bufnr(bufnr) } }
  client_call(client, "request", "workspace/executeCommand", params, function(err)
    if err then
      notify(command .. " failed: " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
    end
  end, bufnr)
end

--- Dismiss every finding in the buffer (remembered across restarts; the file is not changed).
function M.dismiss_all(bufnr)
  execute("hedge.dismissAll", bufnr)
end

--- Re-read the buffer's sidecar and analyse it again.
function M.reanalyse(bufnr)
  execute("hedge.reanalyse", bufnr)
end

--- Ask the `draft` endpoint for an answer to `prompt` (asked for when empty) and insert it at
--- the cursor; its logprobs are saved beside the file and the findings appear at once.
function M.draft(prompt, bufnr)
  if bufnr == nil or bufnr == 0 then
    bufnr = api.nvim_get_current_buf()
  end
  local client = M.clients(bufnr)[1]
  if not client then
    notify("no hedge language server is attached to this buffer")
    return
  end
  if prompt == nil or prompt == "" then
    prompt = vim.fn.input("hedge draft: ")
  end
  if prompt == nil or prompt:match("^%s*$") then
    return
  end
  local pos = vim.lsp.util.make_position_params(0, client.offset_encoding)
  local params = {
    command = "hedge.draft",
    arguments = { pos.textDocument.uri, pos.position, prompt },
  }
  notify("waiting for the model…", vim.log.levels.INFO)
  client_call(client, "request", "workspace/executeCommand", params, function(err, result)
    if err then
      notify((err.message or vim.inspect(err)):gsub("^hedge: ", ""), vim.log.levels.ERROR)
    elseif result then
      notify(("inserted %d tokens; logprobs in %s"):format(result.tokens, result.sidecar), vim.log.levels.INFO)
    end
  end, bufnr)
end

--- Merge `patch` into the settings and send them to every running hedge server.
function M.update_settings(patch)
  M.config.settings = vim.tbl_deep_extend("force", M.config.settings or {}, patch or {})
  local section = settings_table()
  if has011 then -- for servers started later
    vim.lsp.config("hedge", { settings = section, init_options = init_options() })
  end
  for _, client in ipairs(M.clients()) do
    -- What the client answers to workspace/configuration from now on.
    client.config.settings = section
    if client.settings ~= nil then
      client.settings = section
    end
    client_call(client, "notify", "workspace/didChangeConfiguration", {
      settings = { hedge = section.hedge or vim.NIL },
    })
  end
  refresh_heatmap()
end

--- Turn the heatmap on (true), off (false) or over (nil).
function M.set_heatmap(on)
  if on == nil then
    on = not (M.config.settings or {}).heatmap
  end
  M.update_settings({ heatmap = on })
  return on
end

function M.toggle_heatmap()
  local on = M.set_heatmap(nil)
  vim.notify("hedge: heatmap " .. (on and "on" or "off"), vim.log.levels.INFO)
end

local function define_commands()
  local cmd = api.nvim_create_user_command
  cmd("HedgeDismissAll", function()
    M.dismiss_all(0)
  end, { desc = "hedge: dismiss all findings in this file" })
  cmd("HedgeDraft", function(o)
    M.draft(o.args, 0)
  end, { nargs = "?", desc = "hedge: ask the `draft` endpoint and insert its answer at the cursor" })
  cmd("HedgeReanalyse", function()
    M.reanalyse(0)
  end, { desc = "hedge: re-read the sidecar and analyse again" })
  cmd("HedgeToggleHeatmap", function()
    M.toggle_heatmap()
  end, { desc = "hedge: toggle the probability heatmap" })
end

---------------------------------------------------------------------------------------------

function M.setup(opts)
  opts = opts or {}
  for k in pairs(opts) do
    if defaults[k] == nil and k ~= "on_attach" and k ~= "capabilities" then
      notify(("unknown setup() option %q"):format(tostring(k)))
    end
  end
  M.config = vim.tbl_deep_extend("force", vim.deepcopy(defaults), opts)
  M.config.cmd = opts.cmd or defaults.cmd -- lists are replaced, not merged
  M.config.filetypes = opts.filetypes or defaults.filetypes
  M.config.root_markers = opts.root_markers or defaults.root_markers

  augroup = api.nvim_create_augroup("hedge", { clear = true })
  define_highlights()
  api.nvim_create_autocmd("ColorScheme", { group = augroup, callback = define_highlights })
  define_commands()
  if not has09 then
    api.nvim_create_autocmd("DiagnosticChanged", {
      group = augroup,
      callback = function(args)
        if painted[args.buf] then
          paint(args.buf)
        end
      end,
    })
    api.nvim_create_autocmd("BufWipeout", {
      group = augroup,
      callback = function(args)
        painted[args.buf] = nil
      end,
    })
  end

  local exe = type(M.config.cmd) == "table" and M.config.cmd[1] or nil
  if exe and vim.fn.executable(exe) ~= 1 then
    notify(
      ("%q is not an executable; build hedge (`cargo install --path .` in its repository) "
        .. "or pass setup({ cmd = { '/path/to/hedge', 'lsp' } })"):format(exe)
    )
    return
  end

  if has011 then
    vim.lsp.config("hedge", {
      cmd = M.config.cmd,
      filetypes = M.config.filetypes,
      root_dir = function(bufnr, on_dir)
        local file = file_of(bufnr)
        if file then
          on_dir(find_root(file))
        end
      end,
      init_options = init_options(),
      settings = settings_table(),
      capabilities = M.config.capabilities,
      on_attach = on_attach,
    })
    vim.lsp.enable("hedge")
    return
  end

  api.nvim_create_autocmd("FileType", {
    group = augroup,
    pattern = M.config.filetypes,
    callback = function(args)
      attach(args.buf)
    end,
  })
  -- Buffers opened before setup().
  for _, bufnr in ipairs(api.nvim_list_bufs()) do
    if api.nvim_buf_is_loaded(bufnr) and vim.tbl_contains(M.config.filetypes, vim.bo[bufnr].filetype) then
      attach(bufnr)
    end
  end
end

return M
