;;; hedge.el --- Eglot setup for hedge: where a language model was unsure  -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "28.1") (eglot "1.9"))
;; Keywords: tools, languages, wp

;;; Commentary:

;; hedge reads the per-token logprobs saved beside a document (NAME.md.logprobs.json) and
;; flags the numbers, names and citations the model was unsure of.  This file runs its
;; language server, `hedge lsp', through Eglot:
;;
;;   (add-to-list 'load-path "/path/to/hedge/editors/emacs")
;;   (require 'hedge)
;;   (hedge-setup)          ; or (hedge-setup t) to also start Eglot in those modes
;;
;; Then M-x eglot in a Markdown buffer.  Findings are Flymake diagnostics, hover (eldoc)
;; shows the token table, `eglot-code-actions' offers the model's alternative and
;; dismissals.  Commands: `hedge-dismiss-all', `hedge-reanalyse', `hedge-toggle-heatmap'.
;; Settings: M-x customize-group RET hedge.  Eglot has no semantic tokens, so this file
;; paints the heatmap itself (faces `hedge-likely' ... `hedge-rare').
;;
;; Works with Eglot 1.9 (Debian 12, Emacs 28) and the Eglot shipped with Emacs 29+.

;;; Code:

(require 'cl-lib)
(require 'eglot)
(require 'jsonrpc)

(defgroup hedge nil
  "Show where a language model was unsure, through the hedge language server."
  :group 'tools
  :prefix "hedge-")

(defun hedge--set-and-push (symbol value)
  "Set SYMBOL to VALUE and send the new settings to running hedge servers."
  (set-default symbol value)
  (when (fboundp 'hedge--push-settings)
    (hedge--push-settings)))

(defcustom hedge-server-command '("hedge" "lsp")
  "The command that runs hedge's language server."
  :type '(repeat string))

(defcustom hedge-major-modes '(markdown-mode gfm-mode json-mode js-json-mode jsonl-mode)
  "Major modes that hedge manages, in place of any other Eglot server for them.
Takes effect at `hedge-setup'."
  :type '(repeat symbol))

(defcustom hedge-text-modes '(text-mode)
  "Major modes that hedge manages when no other Eglot server claims them.
Modes derived from these (such as `latex-mode' from `text-mode') keep
the server that `eglot-server-programs' gives them.  Takes effect at
`hedge-setup'."
  :type '(repeat symbol))

(defcustom hedge-heatmap nil
  "Colour every token by how likely the model found it."
  :type 'boolean
  :set #'hedge--set-and-push
  :initialize #'custom-initialize-default)

(defcustom hedge-min-coverage nil
  "Share of the trace's tokens that must be found in the document (nil: 0.5)."
  :type '(choice (const :tag "Default" nil) number)
  :set #'hedge--set-and-push
  :initialize #'custom-initialize-default)

(defcustom hedge-vocab-size nil
  "Vocabulary size for the entropy upper bound (nil: as the trace says).
Used when the trace does not state it."
  :type '(choice (const :tag "Default" nil) integer)
  :set #'hedge--set-and-push
  :initialize #'custom-initialize-default)

(defcustom hedge-thresholds nil
  "Thresholds of the findings, as an alist (NAME . NUMBER); see hedge's README."
  :type '(alist :key-type (choice (const citationP) (const claimP) (const claimWarningP)
                                  (const wordP) (const wordWarningP)
                                  (const decisionEntropyBits) (const offGreedyGap)
                                  (const sentencePerplexity) symbol)
                :value-type number)
  :set #'hedge--set-and-push
  :initialize #'custom-initialize-default)

(defcustom hedge-disable nil
  "Finding codes to turn off."
  :type '(repeat (choice (const "low-probability") (const "uncertain-citation")
                         (const "off-greedy") (const "high-entropy")
                         (const "uncertain-sentence") string))
  :set #'hedge--set-and-push
  :initialize #'custom-initialize-default)

(defcustom hedge-severity nil
  "Severity per finding code, as an alist (CODE . LEVEL)."
  :type '(alist :key-type string
                :value-type (choice (const "error") (const "warning")
                                    (const "information") (const "hint")))
  :set #'hedge--set-and-push
  :initialize #'custom-initialize-default)

(defcustom hedge-sidecar-suffixes nil
  "Sidecar suffixes tried after the document's name.
nil: .logprobs.json, then .logprobs.jsonl."
  :type '(repeat string)
  :set #'hedge--set-and-push
  :initialize #'custom-initialize-default)

(defcustom hedge-max-document-bytes nil
  "Largest document analysed, in bytes (nil: 10 MiB)."
  :type '(choice (const :tag "Default" nil) integer)
  :set #'hedge--set-and-push
  :initialize #'custom-initialize-default)

(defcustom hedge-note-missing-trace nil
  "Put a note at the top of a document that has no sidecar."
  :type 'boolean
  :set #'hedge--set-and-push
  :initialize #'custom-initialize-default)

(defcustom hedge-extra-settings nil
  "A plist of further settings, merged last.
Keys as the server spells them: `:minCoverage', `:thresholds' ..."
  :type 'plist
  :set #'hedge--set-and-push
  :initialize #'custom-initialize-default)

(defvar-local hedge--overlays nil
  "The heatmap's overlays in this buffer.")

(defvar hedge-diagnostics-hook nil
  "Run in a buffer after hedge published its diagnostics.")

(defface hedge-likely
  '((((background dark)) :background "#1d3526")
    (t :background "#e2f4e5"))
  "Heatmap: a token the model gave 50% or more.")
(defface hedge-plausible
  '((((background dark)) :background "#4a4118")
    (t :background "#fff0b3"))
  "Heatmap: a token the model gave 10-50%.")
(defface hedge-unlikely
  '((((background dark)) :background "#6a2626")
    (t :background "#ffcccc"))
  "Heatmap: a token the model gave 1-10%.")
(defface hedge-rare
  '((((background dark)) :background "#6b2170" :weight bold)
    (t :background "#f2c4f7" :weight bold))
  "Heatmap: a token the model gave under 1%, or one below its listed alternatives.")

(defconst hedge--faces
  '(("hedgeLikely" . hedge-likely) ("hedgePlausible" . hedge-plausible)
    ("hedgeUnlikely" . hedge-unlikely) ("hedgeRare" . hedge-rare))
  "The server's semantic token types and their faces.")

;;; Settings

(defun hedge--keyword (x)
  (intern (concat ":" (if (symbolp x) (symbol-name x) x))))

(defun hedge--alist-to-plist (alist)
  (cl-loop for (k . v) in alist append (list (hedge--keyword k) v)))

(defun hedge-settings ()
  "The `hedge' settings section, as a plist ready for JSON."
  (let ((s (list :heatmap (if hedge-heatmap t :json-false)
                 :noteMissingTrace (if hedge-note-missing-trace t :json-false))))
    (when hedge-min-coverage (setq s (plist-put s :minCoverage hedge-min-coverage)))
    (when hedge-vocab-size (setq s (plist-put s :vocabSize hedge-vocab-size)))
    (when hedge-thresholds
      (setq s (plist-put s :thresholds (hedge--alist-to-plist hedge-thresholds))))
    (when hedge-disable (setq s (plist-put s :disable (vconcat hedge-disable))))
    (when hedge-severity
      (setq s (plist-put s :severity (hedge--alist-to-plist hedge-severity))))
    (when hedge-sidecar-suffixes
      (setq s (plist-put s :sidecarSuffixes (vconcat hedge-sidecar-suffixes))))
    (when hedge-max-document-bytes
      (setq s (plist-put s :maxDocumentBytes hedge-max-document-bytes)))
    (cl-loop for (k v) on hedge-extra-settings by #'cddr do (setq s (plist-put s k v)))
    s))

(defun hedge--initialization-options (_server)
  (hedge-settings))

;;; The server

(defclass hedge-eglot-server (eglot-lsp-server) ()
  :documentation "An Eglot connection to `hedge lsp'.")

(defun hedge--contact (&optional _interactive)
  "The Eglot contact for hedge.
A function, so that `hedge-server-command' is read when Eglot starts."
  (let ((program (car hedge-server-command)))
    (unless (and program (or (file-executable-p program) (executable-find program)))
      (user-error (concat "hedge: `%s' not found; build hedge (`cargo install --path .' in "
                          "its repository) or set `hedge-server-command'")
                  program))
    `(hedge-eglot-server ,@hedge-server-command
                         :initializationOptions hedge--initialization-options)))

(defun hedge--entry-p (entry)
  (eq (cdr-safe entry) #'hedge--contact))

;;;###autoload
(defun hedge-setup (&optional ensure)
  "Register hedge with Eglot; with ENSURE, start Eglot in hedge's major modes too."
  (setq eglot-server-programs (cl-remove-if #'hedge--entry-p eglot-server-programs))
  (push (cons hedge-major-modes #'hedge--contact) eglot-server-programs)
  (setq eglot-server-programs
        (append eglot-server-programs (list (cons hedge-text-modes #'hedge--contact))))
  (when ensure
    (dolist (mode (append hedge-major-modes hedge-text-modes))
      (add-hook (intern (format "%s-hook" mode)) #'eglot-ensure))))

(defun hedge--server-p (server)
  (and server (object-of-class-p server 'hedge-eglot-server)))

(defun hedge--server ()
  (let ((s (eglot-current-server)))
    (and (hedge--server-p s) s)))

(defun hedge--server-or-lose ()
  (or (hedge--server)
      (user-error "hedge: no hedge server manages this buffer (M-x eglot starts one)")))

(defun hedge--buffers (&optional server)
  "Live buffers managed by hedge servers (by SERVER only, when given)."
  (cl-loop for buf in (buffer-list)
           for s = (with-current-buffer buf (hedge--server))
           when (and s (or (null server) (eq s server))) collect buf))

(defun hedge--servers ()
  (delete-dups (mapcar (lambda (b) (with-current-buffer b (hedge--server)))
                       (hedge--buffers))))

(defun hedge--uri-to-path (uri)
  (if (fboundp 'eglot-uri-to-path) (eglot-uri-to-path uri) (eglot--uri-to-path uri)))

(defun hedge--merge (ours theirs)
  "THEIRS (a plist from `eglot-workspace-configuration') over OURS."
  (let ((s (copy-sequence ours)))
    (when (and (consp theirs) (keywordp (car theirs)))
      (cl-loop for (k v) on theirs by #'cddr do (setq s (plist-put s k v))))
    s))

;; workspace/configuration: the `hedge' section is our settings, with any `:hedge' section
;; of `eglot-workspace-configuration' (say, in .dir-locals.el) on top.
(cl-defmethod eglot-handle-request
  ((_server hedge-eglot-server) (_method (eql 'workspace/configuration)) &key items
   &allow-other-keys)
  (let ((answers (cl-call-next-method)))
    (apply #'vector
           (cl-loop for item across items
                    for a across answers
                    collect (if (equal (plist-get item :section) "hedge")
                                (hedge--merge (hedge-settings) a)
                              a)))))

(cl-defmethod eglot-handle-notification :after
  ((_server hedge-eglot-server) (_method (eql 'textDocument/publishDiagnostics)) &key uri
   &allow-other-keys)
  (when-let ((buf (find-buffer-visiting (hedge--uri-to-path uri))))
    (with-current-buffer buf
      (when (or hedge-heatmap hedge--overlays)
        (hedge--paint))
      (run-hooks 'hedge-diagnostics-hook))))

(defun hedge--push-settings ()
  "Tell every hedge server that the settings changed.
It then asks for them (workspace/configuration), so directory-local
ones still count."
  (dolist (server (hedge--servers))
    (jsonrpc-notify server :workspace/didChangeConfiguration
                    (list :settings (make-hash-table)))
    (dolist (buf (hedge--buffers server))
      (with-current-buffer buf (hedge--paint)))))

;;; Heatmap (Eglot has no semantic tokens: request them and paint overlays)

(defun hedge--clear ()
  (mapc #'delete-overlay hedge--overlays)
  (setq hedge--overlays nil))

(defun hedge--legend (server)
  (let ((types (ignore-errors
                 (plist-get (plist-get (plist-get (eglot--capabilities server)
                                                  :semanticTokensProvider)
                                       :legend)
                            :tokenTypes))))
    (if (> (length types) 0) (append types nil)
      (mapcar #'car hedge--faces))))

(defun hedge--apply-tokens (server result)
  (hedge--clear)
  (let ((legend (hedge--legend server))
        (data (plist-get result :data))
        (line 0) (col 0))
    (save-excursion
      (save-restriction
        (widen)
        (cl-loop
         for i from 0 to (- (length data) 5) by 5
         do (let ((dl (aref data i)) (ds (aref data (+ i 1)))
                  (len (aref data (+ i 2))) (ty (aref data (+ i 3))))
              (if (> dl 0) (setq line (+ line dl) col ds) (setq col (+ col ds)))
              (let ((face (cdr (assoc (nth ty legend) hedge--faces)))
                    (beg (eglot--lsp-position-to-point (list :line line :character col)))
                    (end (eglot--lsp-position-to-point
                          (list :line line :character (+ col len)))))
                (when (and face (< beg end))
                  (let ((ov (make-overlay beg end nil t nil)))
                    (overlay-put ov 'face face)
                    (overlay-put ov 'evaporate t)
                    (overlay-put ov 'hedge t)
                    (push ov hedge--overlays))))))))))

(defun hedge--paint ()
  "Paint (or clear) the heatmap of the current buffer."
  (let ((server (hedge--server)))
    (cond
     ((not server) (hedge--clear))
     ((not hedge-heatmap) (hedge--clear))
     ;; Edits not yet sent: the diagnostics that follow them repaint.
     ((and (boundp 'eglot--recent-changes) eglot--recent-changes) nil)
     (t
      (let ((buf (current-buffer))
            (tick (buffer-chars-modified-tick)))
        (jsonrpc-async-request
         server :textDocument/semanticTokens/full
         (list :textDocument (eglot--TextDocumentIdentifier))
         :success-fn (lambda (result)
                       (when (buffer-live-p buf)
                         (with-current-buffer buf
                           (when (and hedge-heatmap (= tick (buffer-chars-modified-tick)))
                             (hedge--apply-tokens server result)))))
         :error-fn #'ignore
         :timeout-fn #'ignore))))))

;;; Commands

(defun hedge--execute (command)
  "Run the server's COMMAND on the current buffer's document."
  (let ((server (hedge--server-or-lose)))
    (when (fboundp 'eglot--signal-textDocument/didChange)
      (eglot--signal-textDocument/didChange))
    ;; Asynchronous on purpose: Emacs 28's jsonrpc returns from a synchronous
    ;; `jsonrpc-request' out of the middle of its process filter, so the diagnostics the
    ;; server publishes right after its reply would stay unread until it next said
    ;; something.
    (jsonrpc-async-request
     server :workspace/executeCommand
     (list :command command
           :arguments (vector (plist-get (eglot--TextDocumentIdentifier) :uri)))
     :success-fn #'ignore
     :error-fn (lambda (err)
                 (message "hedge: %s failed: %s" command (plist-get err :message)))
     :timeout-fn (lambda () (message "hedge: %s timed out" command)))))

(defun hedge-dismiss-all ()
  "Dismiss every hedge finding in this file.
Remembered across restarts in hedge's state file; the document is not changed."
  (interactive)
  (hedge--execute "hedge.dismissAll")
  (message "hedge: dismissed all findings in %s" (buffer-name)))

(defun hedge-reanalyse ()
  "Re-read this file's sidecar and analyse it again."
  (interactive)
  (hedge--execute "hedge.reanalyse"))

(defun hedge-toggle-heatmap (&optional arg)
  "Toggle the probability heatmap.
With ARG, turn it on if ARG is positive, else off."
  (interactive "P")
  (setq hedge-heatmap (if arg (> (prefix-numeric-value arg) 0) (not hedge-heatmap)))
  (hedge--push-settings)
  (message "hedge: heatmap %s" (if hedge-heatmap "on" "off")))

(provide 'hedge)
;;; hedge.el ends here
