# Desktop integration on Linux: the .desktop entry, hicolor icons (the SVG of resources/ plus PNGs
# drawn from it at build time by rsvg-convert, so that no binary is committed), AppStream
# metainfo and gzipped man pages. Nothing here runs at install time: Debian's triggers
# (hicolor-icon-theme, desktop-file-utils, man-db) refresh their caches by themselves.
set(linux_dir ${CMAKE_CURRENT_SOURCE_DIR}/linux)
set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/linux)

if(TARGET gander)
  install(FILES ${linux_dir}/gander.desktop DESTINATION ${CMAKE_INSTALL_DATADIR}/applications)
  install(FILES ${linux_dir}/app.gander.Gander.metainfo.xml DESTINATION ${CMAKE_INSTALL_DATADIR}/metainfo)

  set(icon_svg ${PROJECT_SOURCE_DIR}/resources/icons/gander.svg)
  if(EXISTS ${icon_svg})
    install(FILES ${icon_svg} DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/scalable/apps)
    find_program(GANDER_RSVG_CONVERT rsvg-convert)
    if(GANDER_RSVG_CONVERT)
      set(pngs)
      foreach(size IN ITEMS 16 24 32 48 64 128 256 512)
        set(png ${out_dir}/icons/${size}x${size}/gander.png)
        add_custom_command(OUTPUT ${png}
          COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}/icons/${size}x${size}
          COMMAND ${GANDER_RSVG_CONVERT} -w ${size} -h ${size} -o ${png} ${icon_svg}
          DEPENDS ${icon_svg} VERBATIM)
        list(APPEND pngs ${png})
        install(FILES ${png} DESTINATION ${CMAKE_INSTALL_DATADIR}/icons/hicolor/${size}x${size}/apps)
      endforeach()
      add_custom_target(gander_icons ALL DEPENDS ${pngs})
    else()
      message(WARNING "installer: rsvg-convert not found (Debian: librsvg2-bin); "
                      "the package carries the SVG icon only")
    endif()
  else()
    message(WARNING "installer: ${icon_svg} not found; the package carries no icon")
  endif()
endif()

# Man pages, gzipped at build time (-n: no name or time stamp, so the output is reproducible).
find_program(GANDER_GZIP gzip)
set(man_pages gander-cli gander-quantize gander-bench)
foreach(program IN ITEMS gander gander-server)
  if(TARGET ${program})
    list(APPEND man_pages ${program})
  endif()
endforeach()
if(GANDER_GZIP)
  set(man_out)
  foreach(page IN LISTS man_pages)
    set(src ${CMAKE_CURRENT_SOURCE_DIR}/man/${page}.1)
    set(gz ${out_dir}/man/${page}.1.gz)
    add_custom_command(OUTPUT ${gz}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}/man
      COMMAND ${GANDER_GZIP} -9n -c ${src} > ${gz}
      DEPENDS ${src})
    list(APPEND man_out ${gz})
  endforeach()
  add_custom_target(gander_man_pages ALL DEPENDS ${man_out})
  install(FILES ${man_out} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
else()
  list(TRANSFORM man_pages PREPEND ${CMAKE_CURRENT_SOURCE_DIR}/man/)
  list(TRANSFORM man_pages APPEND .1)
  install(FILES ${man_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()
