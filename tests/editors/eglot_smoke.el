;;; eglot_smoke.el --- Emacs + Eglot driving the real `hedge lsp' through hedge.el  -*- coding: utf-8; lexical-binding: t; -*-
;;
;;   HEDGE_BIN=target/debug/hedge HEDGE_REPO=$PWD emacs --batch -l tests/editors/eglot_smoke.el
;;
;; (tests/editors/run_eglot.sh does this.)  Prints one JSON line with what it saw; exits 0
;; when every check passed, 1 with "eglot_smoke: FAILED: ..." on stderr otherwise.
;; Do not pass -Q: Debian's site-start puts the elpa packages (eglot, markdown-mode) on the
;; load-path.

(require 'cl-lib)
(require 'json)

(defconst smoke-timeout 20.0 "Seconds per wait.")
(defvar smoke-out nil "What the test saw (a plist, printed as JSON).")

(defun smoke-put (key value) (setq smoke-out (plist-put smoke-out key value)))

(defun smoke-check (cond msg &rest args)
  (unless cond (signal 'smoke-failed (list (apply #'format msg args)))))
(define-error 'smoke-failed "smoke check failed")

(defun smoke-idle ()
  "Act as the command loop would between two commands of a user who then stops typing.
In --batch there is no command loop and no redisplay: `post-command-hook' and
`window-configuration-change-hook' never run (Flymake starts checking a newly shown
buffer from them), and Emacs is never idle (Eglot sends didChange and Flymake re-checks
from idle timers).  Run them all."
  (with-demoted-errors "post-command-hook: %S" (run-hooks 'post-command-hook))
  (with-demoted-errors "window-configuration-change-hook: %S"
    (run-window-configuration-change-hook))
  (dolist (tm (copy-sequence timer-idle-list))
    (when (memq tm timer-idle-list)
      (timer-event-handler tm))))

(defun smoke-wait (what pred)
  (let ((deadline (+ (float-time) smoke-timeout)) ok)
    (while (and (not (setq ok (funcall pred))) (< (float-time) deadline))
      (smoke-idle)
      (accept-process-output nil 0.02))
    (smoke-check ok "timed out after %ss waiting for %s" smoke-timeout what)))

(defun smoke-diags (&optional buf)
  "Flymake's diagnostics in BUF as (TEXT LINE COL END-LINE END-COL), 0-based, sorted."
  (with-current-buffer (or buf (current-buffer))
    (sort (mapcar (lambda (d)
                    (let ((b (flymake-diagnostic-beg d)) (e (flymake-diagnostic-end d)))
                      (save-excursion
                        (list (flymake-diagnostic-text d)
                              (progn (goto-char b) (1- (line-number-at-pos)))
                              (- b (line-beginning-position))
                              (progn (goto-char e) (1- (line-number-at-pos)))
                              (- e (line-beginning-position))))))
                  (flymake-diagnostics))
          (lambda (a b) (or (< (nth 1 a) (nth 1 b))
                            (and (= (nth 1 a) (nth 1 b)) (< (nth 2 a) (nth 2 b))))))))

(defun smoke-diag-is (d code line col end-col)
  (and d (string-prefix-p (format "hedge [%s]: " code) (nth 0 d))
       (equal (cdr d) (list line col line end-col))))

(defun smoke-json-diags (ds)
  (vconcat (mapcar (lambda (d) (list :text (nth 0 d) :line (nth 1 d) :col (nth 2 d)
                                     :end_line (nth 3 d) :end_col (nth 4 d)))
                   ds)))

(defun smoke-pos (line col)
  (save-excursion (goto-char (point-min)) (forward-line line) (+ (point) col)))

(defun smoke-open (file)
  "Visit FILE and connect it to hedge as a user's `M-x eglot' would."
  (find-file file)
  (smoke-check (memq major-mode '(markdown-mode gfm-mode text-mode))
               "%s opened in %s" file major-mode)
  (unless (eglot-current-server)
    ;; `eglot-ensure' waits for post-command-hook, which never runs in --batch.
    (apply #'eglot (eglot--guess-contact)))
  (smoke-wait "Eglot to connect" #'eglot-current-server)
  (smoke-check (object-of-class-p (eglot-current-server) 'hedge-eglot-server)
               "the server is a %s, not hedge's" (eieio-object-class (eglot-current-server)))
  (current-buffer))

(defun smoke-main ()
  (let* ((bin (getenv "HEDGE_BIN"))
         (repo (getenv "HEDGE_REPO"))
         (dir (make-temp-file "hedge-eglot" t))
         (fixtures (expand-file-name "tests/fixtures/docs/" repo)))
    (smoke-check (and bin (file-executable-p bin)) "HEDGE_BIN=%s is not an executable" bin)
    (smoke-check (and repo (file-directory-p repo)) "HEDGE_REPO=%s is not a directory" repo)
    (smoke-put :emacs emacs-version)
    ;; What an interactive Emacs does at startup (batch mode skips it): activate the
    ;; installed packages, so markdown-mode's autoloads claim *.md.
    (when (fboundp 'package-activate-all) (package-activate-all))
    (require 'eglot)
    (smoke-put :eglot (locate-library "eglot"))
    (add-to-list 'load-path (expand-file-name "editors/emacs" repo))
    (require 'hedge)
    (setq hedge-server-command (list bin "lsp"))
    (hedge-setup)
    (dolist (f '("curie.md" "curie.md.logprobs.json"))
      (copy-file (expand-file-name f fixtures) (expand-file-name f dir)))

    (let ((buf (smoke-open (expand-file-name "curie.md" dir))))
      (smoke-put :major_mode (symbol-name major-mode))
      ;; 1. Diagnostics at the right places.
      (smoke-wait "2 diagnostics on curie.md" (lambda () (= 2 (length (flymake-diagnostics)))))
      (let ((ds (smoke-diags)))
        (smoke-put :diagnostics_after_open (smoke-json-diags ds))
        (smoke-check (smoke-diag-is (nth 0 ds) "low-probability" 4 34 38)
                     "first diagnostic is not low-probability at 4:34-38: %S" (nth 0 ds))
        (smoke-check (smoke-diag-is (nth 1 ds) "uncertain-citation" 4 83 107)
                     "second diagnostic is not uncertain-citation at 4:83-107: %S" (nth 1 ds)))

      ;; 2. Hover.
      ;; Asynchronous, as eldoc asks: Emacs 28's synchronous `jsonrpc-request' leaves
      ;; messages that arrive with its reply unread until the server next writes.
      (let* ((hover 'waiting)
             (_ (jsonrpc-async-request (eglot-current-server) :textDocument/hover
                                       (list :textDocument (eglot--TextDocumentIdentifier)
                                             :position (list :line 4 :character 36))
                                       :success-fn (lambda (r) (setq hover r))
                                       :error-fn (lambda (e) (setq hover (list :error e)))
                                       :timeout smoke-timeout
                                       :timeout-fn (lambda () (setq hover :timeout))))
             (_ (smoke-wait "the hover reply" (lambda () (not (eq hover 'waiting)))))
             (text (plist-get (plist-get hover :contents) :value))
             (want "The model gave **1867** 3% and preferred “1868” (41%)"))
        (smoke-put :hover text)
        (smoke-check (and (stringp text) (string-search want text))
                     "hover lacks %s: %S" want hover))

      ;; 3. hedge-toggle-heatmap: "67" (3%) painted with `hedge-unlikely'.
      (hedge-toggle-heatmap)
      (smoke-wait "the heatmap face hedge-unlikely at 4:36"
                  (lambda () (cl-some (lambda (ov) (eq (overlay-get ov 'face) 'hedge-unlikely))
                                      (overlays-at (smoke-pos 4 36)))))
      (smoke-put :heatmap_overlays (length hedge--overlays))

      ;; 4. An edit that removes a squiggle: "1867" -> "1870".
      (goto-char (smoke-pos 4 34))
      (delete-char 4)
      (insert "1870")
      (smoke-wait "the low-probability diagnostic to go after the edit"
                  (lambda () (let ((ds (smoke-diags)))
                               (and (= 1 (length ds))
                                    (smoke-diag-is (car ds) "uncertain-citation" 4 83 107)))))
      (smoke-put :diagnostics_after_edit (smoke-json-diags (smoke-diags)))

      ;; 5. hedge-reanalyse publishes again; the edit stays honoured.
      (let* ((published 0)
             (count (lambda () (cl-incf published))))
        (add-hook 'hedge-diagnostics-hook count nil t)
        (hedge-reanalyse)
        (smoke-wait "diagnostics after hedge-reanalyse" (lambda () (> published 0)))
        (remove-hook 'hedge-diagnostics-hook count t)
        (let ((ds (smoke-diags)))
          (smoke-check (and (= 1 (length ds)) (smoke-diag-is (car ds) "uncertain-citation" 4 83 107))
                       "after hedge-reanalyse: %S" ds)))

      ;; 6. The shipped example, when it is there.
      (let ((example (expand-file-name "examples/literature-review.md" repo)))
        (if (and (file-exists-p example) (file-exists-p (concat example ".logprobs.json")))
            (progn
              (copy-file example (expand-file-name "literature-review.md" dir))
              (copy-file (concat example ".logprobs.json")
                         (expand-file-name "literature-review.md.logprobs.json" dir))
              (with-current-buffer (smoke-open (expand-file-name "literature-review.md" dir))
                (smoke-wait "diagnostics on examples/literature-review.md"
                            (lambda () (> (length (flymake-diagnostics)) 0)))
                (smoke-put :example_diagnostics (length (flymake-diagnostics)))))
          (smoke-put :example_diagnostics nil)))

      ;; 7. hedge-dismiss-all clears the file's findings and remembers it.
      (with-current-buffer buf
        (hedge-dismiss-all)
        (smoke-wait "no diagnostics after hedge-dismiss-all"
                    (lambda () (null (flymake-diagnostics))))
        (let ((state (getenv "HEDGE_STATE_DIR")))
          (when (and state (not (string-empty-p state)))
            (smoke-check (file-exists-p (expand-file-name "dismissed.json" state))
                         "no %s/dismissed.json after hedge-dismiss-all" state))))
      ;; No warning or error from the server (window/showMessage, e.g. bad settings).
      (with-current-buffer (messages-buffer)
        (goto-char (point-min))
        (let ((at (re-search-forward "Server reports (type=[12])" nil t)))
          (smoke-check (not at) "the server showed a warning: %s"
                       (and at (buffer-substring (line-beginning-position)
                                                 (line-end-position))))))
      (ignore-errors (eglot-shutdown (with-current-buffer buf (eglot-current-server)))))))

(let ((ok nil) (why nil))
  (condition-case err
      (progn (smoke-main) (setq ok t))
    (smoke-failed (setq why (cadr err)))
    (error (setq why (format "%S" err))))
  (smoke-put :ok (if ok t :json-false))
  (princ (concat (json-encode smoke-out) "\n"))
  (unless ok
    ;; The end of the LSP traffic, to see what the server last said
    ;; (all of it to the file $HEDGE_SMOKE_EVENTS, when set).
    (dolist (server (delete-dups
                     (delq nil (mapcar (lambda (b) (with-current-buffer b
                                                     (and (fboundp 'eglot-current-server)
                                                          (eglot-current-server))))
                                       (buffer-list)))))
      (with-current-buffer (jsonrpc-events-buffer server)
        (when (getenv "HEDGE_SMOKE_EVENTS")
          (write-region (point-min) (point-max) (getenv "HEDGE_SMOKE_EVENTS")))
        (message "eglot_smoke: last LSP events of %s:\n%s" (jsonrpc-name server)
                 (buffer-substring-no-properties
                  (save-excursion (goto-char (point-max)) (forward-line -60) (point))
                  (point-max)))))
    (message "eglot_smoke: FAILED (Emacs %s): %s" emacs-version why))
  (kill-emacs (if ok 0 1)))

;;; eglot_smoke.el ends here
