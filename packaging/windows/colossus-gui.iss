; Inno Setup 6 script: a per-user (no admin) installer for the PyInstaller bundle dist\colossus-gui\.
; Untested here (no Windows); see packaging/README.md, "Windows". Build:
;   iscc /DAppVersion=0.1.0 packaging\windows\colossus-gui.iss   ->  dist\ColossusGUI-0.1.0-setup.exe
; Paths below are relative to this file's folder.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif

[Setup]
; AppId identifies the app across upgrades and uninstall: never change it
AppId={{40AEAA7A-EB8C-4C8A-BB07-3075D7B1D067}
AppName=Colossus GUI
AppVersion={#AppVersion}
AppVerName=Colossus GUI {#AppVersion}
AppPublisher=Colossus GUI contributors
DefaultDirName={autopf}\Colossus GUI
DefaultGroupName=Colossus GUI
DisableProgramGroupPage=yes
; per-user by default (no UAC prompt); an administrator may choose "all users" in the dialog
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=ColossusGUI-{#AppVersion}-setup
SetupIconFile=..\..\build\icons\colossus-gui.ico
UninstallDisplayIcon={app}\Colossus GUI.exe
Compression=lzma2/ultra64
SolidCompression=yes
WizardStyle=modern
ChangesEnvironment=yes

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "addtopath"; Description: "Add colossus-gui to PATH (command line: run, snapshot, validate)"; Flags: unchecked

[Files]
Source: "..\..\dist\colossus-gui\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
; the windowed executable: no console window behind the app
Name: "{autoprograms}\Colossus GUI"; Filename: "{app}\Colossus GUI.exe"
Name: "{autodesktop}\Colossus GUI"; Filename: "{app}\Colossus GUI.exe"; Tasks: desktopicon

[Registry]
Root: HKCU; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; \
  Tasks: addtopath; Check: NeedsAddPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\Colossus GUI.exe"; Description: "{cm:LaunchProgram,Colossus GUI}"; Flags: nowait postinstall skipifsilent

[Code]
function NeedsAddPath(Dir: string): Boolean;
var
  Path: string;
begin
  if not RegQueryStringValue(HKEY_CURRENT_USER, 'Environment', 'Path', Path) then
  begin
    Result := True;
    exit;
  end;
  Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Path) + ';') = 0;
end;
