; Inno Setup 6.3+ script: a Windows installer for the one-folder bundle dist\dictation-app.
;
; Build the bundle first (on Windows: pyinstaller --noconfirm --clean build.spec), then
;   iscc packaging\windows\installer.iss
; which writes dist\dictation-app-<version>-setup.exe.
;
; The version is read from the bundle's dictation-app.exe, whose version resource
; build.spec fills from dictation_app.__version__, so it is bumped in one place only.
; Pass /DMyAppVersion=X.Y.Z to override it.
;
; Installs per user by default (no administrator prompt; {autopf} is then
; %LOCALAPPDATA%\Programs); the first page offers "install for all users" instead.

#define MyAppName "Dictation"
#define MyAppId "io.github.dictation_app.DictationApp"
#define MyAppExeName "dictation-app.exe"
#define MyBundleDir AddBackslash(SourcePath) + "..\..\dist\dictation-app"

#ifndef MyAppVersion
  #define MyAppVersion GetStringFileInfo(MyBundleDir + "\" + MyAppExeName, "ProductVersion")
#endif
#if MyAppVersion == ""
  #error No version: build the bundle first (its dictation-app.exe carries it) or pass /DMyAppVersion=X.Y.Z
#endif

[Setup]
AppId={#MyAppId}
AppName={#MyAppName}
AppVersion={#MyAppVersion}
AppVerName={#MyAppName} {#MyAppVersion}
AppPublisher=The Dictation developers
VersionInfoVersion={#MyAppVersion}
DefaultDirName={autopf}\{#MyAppName}
DefaultGroupName={#MyAppName}
DisableProgramGroupPage=yes
UninstallDisplayName={#MyAppName}
UninstallDisplayIcon={app}\{#MyAppExeName}
SetupIconFile=..\..\resources\icons\dictation-app.ico
OutputDir=..\..\dist
OutputBaseFilename=dictation-app-{#MyAppVersion}-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
; Closes a running Dictation before files are replaced (it holds its DLLs open).
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
; The whole bundle: both executables and _internal\ (Python, Qt, PortAudio, the speech model).
Source: "{#MyBundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#MyAppName}"; Filename: "{app}\{#MyAppExeName}"; Comment: "Dictate and transcribe speech"
Name: "{autodesktop}\{#MyAppName}"; Filename: "{app}\{#MyAppExeName}"; Tasks: desktopicon

[Registry]
; "Open with > Dictation" for audio files, per user: no file type is taken over.
Root: HKA; Subkey: "Software\Classes\Applications\{#MyAppExeName}\shell\open\command"; ValueType: string; ValueData: """{app}\{#MyAppExeName}"" ""%1"""; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\Applications\{#MyAppExeName}\SupportedTypes"; ValueType: string; ValueName: ".wav"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\Applications\{#MyAppExeName}\SupportedTypes"; ValueType: string; ValueName: ".flac"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\Applications\{#MyAppExeName}\SupportedTypes"; ValueType: string; ValueName: ".mp3"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\Applications\{#MyAppExeName}\SupportedTypes"; ValueType: string; ValueName: ".m4a"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\Applications\{#MyAppExeName}\SupportedTypes"; ValueType: string; ValueName: ".ogg"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\Applications\{#MyAppExeName}\SupportedTypes"; ValueType: string; ValueName: ".opus"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\Applications\{#MyAppExeName}\SupportedTypes"; ValueType: string; ValueName: ".wma"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\Applications\{#MyAppExeName}\SupportedTypes"; ValueType: string; ValueName: ".mp4"; ValueData: ""
Root: HKA; Subkey: "Software\Classes\.wav\OpenWithList\{#MyAppExeName}"; ValueType: none; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\.mp3\OpenWithList\{#MyAppExeName}"; ValueType: none; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\.m4a\OpenWithList\{#MyAppExeName}"; ValueType: none; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\.flac\OpenWithList\{#MyAppExeName}"; ValueType: none; Flags: uninsdeletekey

[Run]
Filename: "{app}\{#MyAppExeName}"; Description: "{cm:LaunchProgram,{#MyAppName}}"; Flags: nowait postinstall skipifsilent

; The uninstaller removes only what [Files] installed: the user's settings
; and the tokens saved in Windows Credential Manager stay, as on the other platforms.
