; Dispatch Console: Windows installer (NSIS 3) for the PyInstaller one-dir build.
;
; Build it after packaging/pyinstaller/dispatch-console.spec has made dist\dispatch-console\:
;   makensis packaging\windows\dispatch-console.nsi                   (Windows, NSIS 3)
;   makensis packaging/windows/dispatch-console.nsi                   (Linux: Debian package nsis)
; Defines, each overridable with /DNAME=value (Windows) or -DNAME=value (Linux):
;   BUILD_DIR     the one-dir build (default ../../dist/dispatch-console; relative paths are from this folder)
;   OUTFILE       the installer to write (default ../../dist/dispatch-console-<VERSION>-setup.exe)
;   VERSION       the console's version, as in pyproject.toml (default 0.1.0)
;   UNCOMPRESSED  store the files without compression (quick test builds)
;
; What the installer does:
;   - installs for all users into "C:\Program Files\Dispatch Console" (asks for administrator rights);
;   - puts "Dispatch Console" in the all-users Start menu, and, if "Start at login" is ticked (or /AUTOSTART=1
;     on a silent install: setup.exe /S /AUTOSTART=1), in the all-users Startup folder;
;   - registers an uninstaller in Add/Remove Programs (HKLM);
;   - upgrades in place: a newer installer finds the previous folder, keeps the "Start at login" choice,
;     and replaces the program files, removing the old ones first so no file of an older build lingers.
;
; User data is never touched, on install, upgrade or uninstall. The console keeps each user's profile
; (position.toml), window settings (ui-state.ini) and database (<position>.sqlite3, the event log and calls)
; in %LOCALAPPDATA%\dispatch-console: platformdirs' user_config_path and user_data_path for the app name
; "dispatch-console" with appauthor=False (app/config/paths.py), both in the non-roaming Local AppData.
; The console migrates an older profile and database itself on its first start after an upgrade.

Unicode true

!ifndef VERSION
  !define VERSION "0.1.0"
!endif
!ifndef BUILD_DIR
  !define BUILD_DIR "../../dist/dispatch-console"
!endif
!ifndef OUTFILE
  !define OUTFILE "../../dist/dispatch-console-${VERSION}-setup.exe"
!endif

!define APP_NAME "Dispatch Console"
; The one-dir build has two programs (packaging/pyinstaller/dispatch-console.spec): dispatch-console.exe, the
; console program technicians type commands to, and dispatch-console-gui.exe, the same without a console
; window, which the shortcuts start.
!define EXE "dispatch-console.exe"
!define GUI_EXE "dispatch-console-gui.exe"
!define ICON_FILE "dispatch-console.ico"
; PyInstaller 6 one-dir layout: the executables beside one folder that holds everything else. Upgrade
; and uninstall remove exactly these (and the icon and uninstaller), never the whole install folder.
!define CONTENTS "_internal"
!define PUBLISHER "Dispatch Console developers"
!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\DispatchConsole"
!define SHORTCUT "${APP_NAME}.lnk"

!if /FileExists "${BUILD_DIR}/${EXE}"
!else
  !error "No ${EXE} in ${BUILD_DIR}: build the one-dir bundle first (pyinstaller packaging/pyinstaller/dispatch-console.spec) or pass -DBUILD_DIR=<folder>"
!endif
!if /FileExists "${BUILD_DIR}/${GUI_EXE}"
!else
  !error "No ${GUI_EXE} in ${BUILD_DIR}: build the bundle on Windows, where the spec adds the windowed program"
!endif
!if /FileExists "${BUILD_DIR}/${CONTENTS}"
!else
  !error "No ${CONTENTS} folder in ${BUILD_DIR}: the installer expects PyInstaller 6's one-dir layout (${EXE} + ${CONTENTS}/)"
!endif

!include "MUI2.nsh"
!include "LogicLib.nsh"
!include "FileFunc.nsh"
!include "Sections.nsh"
!include "x64.nsh"

Name "${APP_NAME}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\${APP_NAME}"
RequestExecutionLevel admin
ManifestDPIAware true
BrandingText "${APP_NAME} ${VERSION}"
!ifdef UNCOMPRESSED
  SetCompress off
!else
  SetCompressor /SOLID lzma
!endif

VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "${APP_NAME}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "FileDescription" "${APP_NAME} installer"
VIAddVersionKey "CompanyName" "${PUBLISHER}"
VIAddVersionKey "LegalCopyright" "GPL-3.0-or-later"

!define MUI_ICON "${ICON_FILE}"
!define MUI_UNICON "${ICON_FILE}"
!define MUI_ABORTWARNING
!define MUI_COMPONENTSPAGE_NODESC

!insertmacro MUI_PAGE_COMPONENTS
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
; No "run now" box on the finish page: started from here it would run elevated, as the installing admin.
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

; The program files of the installed build, and nothing else (used by upgrade and uninstall).
; A running console locks its executable: ask for it to be closed rather than half-replace the build.
!macro RemoveProgramFiles
  ${If} ${FileExists} "$INSTDIR\${EXE}"
  ${OrIf} ${FileExists} "$INSTDIR\${GUI_EXE}"
    retry_delete:
    ClearErrors
    Delete "$INSTDIR\${GUI_EXE}"
    Delete "$INSTDIR\${EXE}"
    ${If} ${Errors}
      MessageBox MB_RETRYCANCEL|MB_ICONEXCLAMATION \
        "${APP_NAME} is running. Close it in every user's session, then choose Retry." \
        /SD IDCANCEL IDRETRY retry_delete
      Abort "${APP_NAME} is still running. Close it and run this again."
    ${EndIf}
  ${EndIf}
  RMDir /r "$INSTDIR\${CONTENTS}"
  Delete "$INSTDIR\${ICON_FILE}"
  Delete "$INSTDIR\uninstall.exe"
!macroend

Section "${APP_NAME}" SecProgram
  SectionIn RO
  SetShellVarContext all
  !insertmacro RemoveProgramFiles
  SetOutPath "$INSTDIR"
  File /r "${BUILD_DIR}/*"
  ; The shortcuts' icon, whether or not the spec gave the executables one.
  File "${ICON_FILE}"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  ; The working folder of the shortcuts is $INSTDIR (the current out path).
  CreateShortcut "$SMPROGRAMS\${SHORTCUT}" "$INSTDIR\${GUI_EXE}" "" "$INSTDIR\${ICON_FILE}" 0
  ; Put back by the next section when "Start at login" is (still) chosen.
  Delete "$SMSTARTUP\${SHORTCUT}"

  WriteRegStr HKLM "${UNINST_KEY}" "DisplayName" "${APP_NAME}"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINST_KEY}" "Publisher" "${PUBLISHER}"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayIcon" "$INSTDIR\${ICON_FILE}"
  WriteRegStr HKLM "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINST_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  IntFmt $0 "0x%08X" $0
  WriteRegDWORD HKLM "${UNINST_KEY}" "EstimatedSize" "$0"
SectionEnd

Section /o "Start at login (all users)" SecAutostart
  SetShellVarContext all
  SetOutPath "$INSTDIR"
  CreateShortcut "$SMSTARTUP\${SHORTCUT}" "$INSTDIR\${GUI_EXE}" "" "$INSTDIR\${ICON_FILE}" 0
SectionEnd

Function .onInit
  ${IfNot} ${RunningX64}
    MessageBox MB_ICONSTOP "${APP_NAME} needs 64-bit Windows." /SD IDOK
    Abort
  ${EndIf}
  SetRegView 64
  SetShellVarContext all

  ; Upgrade in place: use the previous install folder unless /D= chose another.
  ReadRegStr $0 HKLM "${UNINST_KEY}" "InstallLocation"
  ${If} $0 != ""
  ${AndIf} $INSTDIR == "$PROGRAMFILES64\${APP_NAME}"
    StrCpy $INSTDIR $0
  ${EndIf}

  ; Keep the previous "Start at login" choice; /AUTOSTART=1 or 0 decides on the command line.
  ${If} ${FileExists} "$SMSTARTUP\${SHORTCUT}"
    !insertmacro SelectSection ${SecAutostart}
  ${EndIf}
  ${GetParameters} $1
  ClearErrors
  ${GetOptions} $1 "/AUTOSTART=" $2
  ${IfNot} ${Errors}
    ${If} $2 == "1"
      !insertmacro SelectSection ${SecAutostart}
    ${Else}
      !insertmacro UnselectSection ${SecAutostart}
    ${EndIf}
  ${EndIf}
FunctionEnd

Section "Uninstall"
  SetShellVarContext all
  !insertmacro RemoveProgramFiles
  ; Not /r: the folder goes only if nothing else was put in it.
  RMDir "$INSTDIR"
  Delete "$SMPROGRAMS\${SHORTCUT}"
  Delete "$SMSTARTUP\${SHORTCUT}"
  DeleteRegKey HKLM "${UNINST_KEY}"
  ; Every user's %LOCALAPPDATA%\dispatch-console (profile, settings, database) stays where it is.
SectionEnd

Function un.onInit
  SetRegView 64
FunctionEnd
